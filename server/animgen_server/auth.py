"""Bearer-token authentication for every call but the health check. The token is never logged."""

from __future__ import annotations

import hmac

import grpc

EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)


def _deny(message: str) -> grpc.RpcMethodHandler:
    async def deny(request, context: grpc.aio.ServicerContext):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    # Every kind of call gets an answer of its own shape; the request is never read.
    return grpc.unary_unary_rpc_method_handler(deny)


def _deny_stream_in(message: str) -> grpc.RpcMethodHandler:
    async def deny(request_iterator, context: grpc.aio.ServicerContext):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.stream_unary_rpc_method_handler(deny)


def _deny_stream_out(message: str) -> grpc.RpcMethodHandler:
    async def deny(request, context: grpc.aio.ServicerContext):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover

    return grpc.unary_stream_rpc_method_handler(deny)


def _deny_stream_both(message: str) -> grpc.RpcMethodHandler:
    async def deny(request_iterator, context: grpc.aio.ServicerContext):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover

    return grpc.stream_stream_rpc_method_handler(deny)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        if details.method.startswith(EXEMPT_PREFIXES):
            return await continuation(details)
        given = next((v for k, v in (details.invocation_metadata or ()) if k == "authorization"), None)
        if given is not None and hmac.compare_digest(given.encode() if isinstance(given, str) else given,
                                                     self._expected):
            return await continuation(details)
        message = ("this server requires a token: send the metadata 'authorization: Bearer <token>' "
                   "(animgen: --token or ANIMGEN_TOKEN)" if given is None else "the token is wrong")
        handler = await continuation(details)
        if handler is None:
            return None
        if handler.request_streaming and handler.response_streaming:
            return _deny_stream_both(message)
        if handler.request_streaming:
            return _deny_stream_in(message)
        if handler.response_streaming:
            return _deny_stream_out(message)
        return _deny(message)


def check_token(token: str | None, flag: str = "--token") -> None:
    """Raises InputError unless the token can travel as an HTTP/2 header value: printable ASCII, no space at either
    end. A server had started with "pässwörd", which no client could then send ("Invalid metadata")."""
    from animgen_ml.errors import InputError

    if token and not (token.isascii() and token.isprintable() and token == token.strip()):
        raise InputError(f"{flag}: a token must be printable ASCII with no space at either end (it is sent as an "
                         "HTTP header)")


def bearer_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    check_token(token)
    return (("authorization", f"Bearer {token}"),) if token else ()
