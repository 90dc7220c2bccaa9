// The bearer token as the window and the batch take it: checked before any call, because it travels as an HTTP/2
// header value, which must be printable ASCII (the server refuses a space at either end as well).
namespace AnimGen.Core
{
    public static class BearerToken
    {
        /// <summary>Why the token (as typed: it is sent trimmed) cannot be sent, in words; null when it can.</summary>
        public static string Problem(string token)
        {
            foreach (char c in (token ?? "").Trim())
                if (c < ' ' || c > '~')
                    return "The token must be printable ASCII (it is sent as an HTTP header): a character of it is not.";
            return null;
        }
    }
}
