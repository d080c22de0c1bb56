using System.Net;
using System.Text.Json;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>What <c>GET /stats</c> of the stress server reports.</summary>
internal sealed record ServerStats(int Pid, long RssBytes, int OpenFds, int Threads, long ManagedHeapBytes, long Accepted, long Active, long KestrelActive, long AcceptErrors, long AcceptDeferred, long UnexpectedErrors, long SlowInFlight, long CanaryRuns, long CanaryFailures)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Asks over a new connection.</summary>
    public static async Task<ServerStats> GetAsync(IPEndPoint endPoint, bool collectGarbage = false)
    {
        using var connection = await StressConnection.ConnectAsync(endPoint, 1, Timeouts.DefaultToken());
        return await GetAsync(connection, collectGarbage);
    }

    /// <summary>Asks over <paramref name="connection"/> (kept alive), e.g. one opened before the server ran out of fds.</summary>
    public static async Task<ServerStats> GetAsync(StressConnection connection, bool collectGarbage = false)
    {
        var token = Timeouts.DefaultToken();
        await connection.SendAsync($"GET /stats{(collectGarbage ? "?gc=1" : "")} HTTP/1.1\r\nHost: stress\r\n\r\n", token);
        var head = await connection.ReadHeadAsync(token);
        Assert.Equal(200, head.StatusCode);
        var body = new MemoryStream();
        await connection.ReadBodyAsync(head, span => body.Write(span), token);
        return JsonSerializer.Deserialize<ServerStats>(body.ToArray(), Json)
            ?? throw new InvalidDataException("/stats answered null.");
    }
}
