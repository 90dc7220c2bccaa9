// What a failed call's gRPC status says, decided here on the status code as a number (gRPC's own numbering, which
// Grpc.Core.StatusCode's values are) rather than in AnimGenConnection, which needs grpc-dotnet and so is compiled only
// in Unity: engine-free, the rules are tested.
namespace AnimGen.Core
{
    public static class CallStatus
    {
        public const int Cancelled = 1;
        public const int DeadlineExceeded = 4;
        public const int Unavailable = 14;

        /// <summary>The call's own deadline passed (DEADLINE_EXCEEDED): the server may still have done what it was
        /// asked, so a StartJob that timed out is asked again under its request id (QueueWait.StartAsync).</summary>
        public static bool TimedOut(int code)
        {
            return code == DeadlineExceeded;
        }

        /// <summary>The server's answer, a refusal (a full queue, NOT_FOUND, a token it refuses): any status but
        /// UNAVAILABLE (the server cannot be reached), CANCELLED (the run's own stop, or a server that stops) and the
        /// call's own deadline, after none of which is it known whether the server did what it was asked. The server
        /// is there: Outage ends its outage on it, as the CLI counts any answer but UNAVAILABLE and a deadline
        /// (remote.py Outage.answered), and a StartJob it refused made no job (JobStart).</summary>
        public static bool Answered(int code)
        {
            return code != Unavailable && code != Cancelled && !TimedOut(code);
        }
    }
}
