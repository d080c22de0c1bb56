using System.Globalization;

namespace Stress.Client.Operations;

/// <summary>The request heads of the stress mix, and the check of a /hello body.</summary>
internal static class Requests
{
    public static string Hello(ulong nonce, uint sequence, string extraHeaders = "") =>
        string.Create(CultureInfo.InvariantCulture, $"GET /hello?n={nonce:x16}&s={sequence} HTTP/1.1\r\nHost: stress\r\n{extraHeaders}\r\n");

    public static string Download(ulong nonce, uint sequence, long size) =>
        string.Create(CultureInfo.InvariantCulture, $"GET /download?n={nonce:x16}&s={sequence}&size={size} HTTP/1.1\r\nHost: stress\r\n\r\n");

    public static string Post(string path, long contentLength) =>
        string.Create(CultureInfo.InvariantCulture, $"POST {path} HTTP/1.1\r\nHost: stress\r\nContent-Type: application/octet-stream\r\nContent-Length: {contentLength}\r\n\r\n");

    /// <summary>Throws unless the status is 200.</summary>
    public static void ExpectOk(ResponseHead head, string what)
    {
        if (head.StatusCode != 200)
        {
            throw new StressFailureException(FailureKind.Protocol, $"{what} answered {head.StatusCode}.");
        }
    }

    /// <summary>Throws unless <paramref name="body"/> is this exchange's /hello answer, saying whose it is if not.</summary>
    public static void CheckHello(string body, ulong nonce, uint sequence)
    {
        string expected = string.Create(CultureInfo.InvariantCulture, $"{nonce:x16}-{sequence}");
        if (body == expected)
        {
            return;
        }
        string[] parts = body.Split('-');
        if (parts.Length == 2 && ulong.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong other) &&
            other != nonce && StressPayload.RunIdOf(other) == StressPayload.RunIdOf(nonce))
        {
            throw new StressFailureException(FailureKind.Misrouted, $"Expected '{expected}', got connection {other:x16}'s answer '{body}'.");
        }
        throw new StressFailureException(FailureKind.Corrupted, $"Expected '{expected}', got '{(body.Length > 60 ? body[..60] + "..." : body)}'.");
    }
}
