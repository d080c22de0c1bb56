using System.Net;
using Stress.Client.Operations;

namespace KestrelEpollTransport.Reliability.Tests.Faults;

/// <summary>
/// Connections opened at once, each with one <c>/hello</c> in flight, and which of them were answered: against a server
/// out of fds, the answered ones are those it accepted; the others wait in its backlog.
/// </summary>
internal sealed class HelloBurst : IDisposable
{
    private readonly List<(StressConnection Connection, Task Answer)> _connections = [];

    /// <summary>Bounds every answer: the burst is waited on for a whole phase of a test.</summary>
    private readonly CancellationTokenSource _deadline = new(Timeouts.LoadPhase);

    private HelloBurst()
    {
    }

    /// <summary>How many connections have their answer.</summary>
    public int Answered => _connections.Count(c => c.Answer.IsCompletedSuccessfully);

    /// <summary>The connections that have their answer.</summary>
    public IEnumerable<StressConnection> AnsweredConnections => _connections.Where(c => c.Answer.IsCompletedSuccessfully).Select(c => c.Connection);

    /// <summary>Opens <paramref name="count"/> connections to <paramref name="endPoint"/>, each sending a /hello.</summary>
    public static async Task<HelloBurst> OpenAsync(IPEndPoint endPoint, int count)
    {
        var burst = new HelloBurst();
        try
        {
            for (int i = 0; i < count; i++)
            {
                // The kernel completes the handshake from the backlog whether or not the server accepts.
                var connection = await Hello.ConnectAsync(endPoint, Timeouts.DefaultToken());
                uint sequence = connection.NextSequence();
                burst._connections.Add((connection, burst.SendAndReadAsync(connection, sequence)));
            }
            return burst;
        }
        catch
        {
            burst.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Closes the connections answered now, freeing their fds on the server, and returns how many. A snapshot first:
    /// each close lets a waiting connection in, which may be answered before the loop would reach it.
    /// </summary>
    public int CloseAnswered()
    {
        var answered = AnsweredConnections.ToList();
        foreach (var connection in answered)
        {
            connection.Dispose();
        }
        return answered.Count;
    }

    /// <summary>Closes every connection.</summary>
    public void CloseAll()
    {
        foreach (var (connection, _) in _connections)
        {
            connection.Dispose();
        }
    }

    public void Dispose()
    {
        CloseAll();
        _deadline.Dispose();
    }

    private async Task SendAndReadAsync(StressConnection connection, uint sequence)
    {
        await connection.SendAsync(Requests.Hello(connection.Nonce, sequence), _deadline.Token);
        await Hello.ReadAsync(connection, sequence, _deadline.Token);
    }
}
