using System.Globalization;
using System.Text.Json;

namespace TransportBench.Measure;

/// <summary>
/// Reads a server's GC allocated-bytes counter from SampleWeb's <c>/bench/stats</c> endpoint (on only when the runner
/// starts it with <c>--SampleWeb:BenchStats=true</c>). Divided by requests it shows whether a server allocates per
/// request; the floor gives Kestrel's own share, so the difference is the transport's.
/// </summary>
internal static class AllocationCounter
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>The counter, or null when the server does not offer it.</summary>
    public static Task<long?> ReadAsync(string baseUrl, CancellationToken cancellationToken) =>
        ReadStatAsync(baseUrl, "allocatedBytes", cancellationToken);

    /// <summary>Methods the server's JIT has compiled so far (tier-ups included), or null when it does not say.</summary>
    public static Task<long?> ReadJitCompiledMethodsAsync(string baseUrl, CancellationToken cancellationToken) =>
        ReadStatAsync(baseUrl, "jitCompiledMethods", cancellationToken);

    private static async Task<long?> ReadStatAsync(string baseUrl, string name, CancellationToken cancellationToken)
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
        catch (HttpRequestException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Bytes per request between two readings, or null when either is missing.</summary>
    public static double? PerRequest(long? before, long? after, long requests) =>
        before is long b && after is long a && requests > 0 ? (double)(a - b) / requests : null;

    public static string Format(double? bytesPerRequest) =>
        bytesPerRequest is double b ? b.ToString("0", CultureInfo.InvariantCulture) : "n/a";
}
