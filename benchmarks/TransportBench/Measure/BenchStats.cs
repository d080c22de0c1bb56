using System.Text.Json;

namespace TransportBench.Measure;

/// <summary>
/// Reads SampleWeb's <c>/bench/stats</c> (on only when the runner starts it with <c>--SampleWeb:BenchStats=true</c>):
/// the GC's allocated-bytes counter, which divided by requests shows whether a server allocates per request (the
/// floor gives Kestrel's own share, so the difference is the transport's), and the JIT's count of compiled methods,
/// which says when a warm-up is done.
/// </summary>
internal static class BenchStats
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Bytes the server's GC heap allocated so far, or null when the server does not say.</summary>
    public static Task<long?> AllocatedBytesAsync(string baseUrl, CancellationToken cancellationToken) =>
        ReadAsync(baseUrl, "allocatedBytes", cancellationToken);

    /// <summary>Methods the server's JIT has compiled so far (tier-ups included), or null when it does not say.</summary>
    public static Task<long?> JitCompiledMethodsAsync(string baseUrl, CancellationToken cancellationToken) =>
        ReadAsync(baseUrl, "jitCompiledMethods", cancellationToken);

    /// <summary>Bytes per request between two readings, or null when either is missing.</summary>
    public static double? PerRequest(long? before, long? after, long requests) =>
        before is long b && after is long a && requests > 0 ? (double)(a - b) / requests : null;

    private static async Task<long?> ReadAsync(string baseUrl, string name, CancellationToken cancellationToken)
    {
        try
        {
            using HttpResponseMessage response = await Client.GetAsync(new Uri(baseUrl + "/bench/stats"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }
            using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return json.RootElement.TryGetProperty(name, out JsonElement value) ? value.GetInt64() : null;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException)
        {
            return null;
        }
    }
}
