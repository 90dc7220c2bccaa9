// The server address as the window takes it: HOST:PORT, or http://HOST:PORT / https://HOST:PORT.
using System;
using System.Globalization;

namespace AnimGen.Core
{
    public static class ServerAddress
    {
        public const int DefaultPort = 50051;

        /// <summary>Why the address cannot be dialled, in words; null when it can (empty: the default). Checked
        /// before any connection is made: a channel built from a malformed address throws, off the main thread.</summary>
        public static string Problem(string address)
        {
            string a = (address ?? "").Trim();
            if (a.Length == 0) return null;
            Uri uri;
            string url = a.Contains("://") ? a : "http://" + a;
            bool ok = Uri.TryCreate(url, UriKind.Absolute, out uri)
                && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                && uri.Host.Length > 0 && uri.Port >= 1 && uri.AbsolutePath == "/" && uri.Query.Length == 0;
            return ok ? null : "The server address '" + a + "' is not HOST:PORT (or http://HOST:PORT, https://HOST:PORT).";
        }

        /// <summary>The URL a connection dials for an address Problem accepts: http://HOST:PORT (https:// as given), on port
        /// 50051 where the address names none, as Start local server takes it (not HTTP's 80 or HTTPS's 443).</summary>
        public static string Url(string address)
        {
            string a = (address ?? "").Trim();
            if (a.Length == 0) return "http://127.0.0.1:" + DefaultPort;
            string url = a.Contains("://") ? a : "http://" + a;
            string authority = url.Substring(url.IndexOf("://", StringComparison.Ordinal) + 3).Split('/')[0];
            var b = new UriBuilder(url);
            if (authority.LastIndexOf(':') <= authority.LastIndexOf(']')) b.Port = DefaultPort; // none given
            return b.Uri.GetLeftPart(UriPartial.Authority);
        }

        /// <summary>The port "Start local server" runs `animgen serve` on, so that the address then reaches it; throws
        /// ArgumentException naming the problem where it could not (another machine, TLS, a bad port).</summary>
        public static int LocalServerPort(string address)
        {
            string a = (address ?? "").Trim();
            if (a.Length == 0) return DefaultPort; // the connection's default: 127.0.0.1:50051
            if (a.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException("the local server speaks plaintext: use 127.0.0.1:PORT, not " + address);
            if (a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) a = a.Substring("http://".Length);
            a = a.TrimEnd('/');
            string host = a;
            int port = DefaultPort;
            int colon = a.LastIndexOf(':');
            if (colon >= 0 && colon > a.LastIndexOf(']'))
            {
                host = a.Substring(0, colon);
                string p = a.Substring(colon + 1);
                if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535)
                    throw new ArgumentException("the port in '" + address + "' must be 1 to 65535");
            }
            host = host.Trim('[', ']').ToLowerInvariant();
            // `animgen serve` listens on 127.0.0.1 (IPv4) only: [::1] would never reach it.
            if (host != "localhost" && host != "127.0.0.1")
                throw new ArgumentException("a local server listens on 127.0.0.1: set the address to 127.0.0.1:PORT, not " + address);
            return port;
        }
    }
}
