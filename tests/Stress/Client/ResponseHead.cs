namespace Stress.Client;

/// <summary>A response's status line and the headers the stress client acts on.</summary>
/// <param name="StatusCode">The status code.</param>
/// <param name="ContentLength">Content-Length, if sent.</param>
/// <param name="Chunked">Whether Transfer-Encoding is chunked.</param>
/// <param name="ConnectionClose">Whether the server said <c>Connection: close</c>.</param>
internal sealed record ResponseHead(int StatusCode, long? ContentLength, bool Chunked, bool ConnectionClose);
