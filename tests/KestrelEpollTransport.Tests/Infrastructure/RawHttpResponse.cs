namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>An HTTP/1.1 response as it came off the wire: status, headers in order, body (de-chunked).</summary>
public sealed record RawHttpResponse(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    /// <summary>The value of the only header named <paramref name="name"/> (case-insensitive), or null if absent.</summary>
    /// <exception cref="InvalidOperationException">The header appears more than once.</exception>
    public string? Header(string name)
    {
        var values = Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw new InvalidOperationException($"Header '{name}' appears {values.Count} times."),
        };
    }

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}
