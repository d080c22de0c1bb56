using System.Net.Http;
using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Protocols;

/// <summary>
/// Server-sent events (<c>TypedResults.ServerSentEvents</c>): a response that stays open and sends each event as it
/// happens. The server produces event i+1 only after the client has received event i, so every event must cross the
/// transport on its own, while the response is still open: nothing may wait in a buffer for more data or the end.
/// </summary>
public abstract class ServerSentEventsTests(TransportKind transport, ITestOutputHelper output)
{
    private const int EventCount = 5;

    [Fact]
    public async Task ServerSentEvents_EachEventProducedAfterThePreviousArrived_ArriveOneByOneBeforeTheEnd()
    {
        // Released by the client for each event it wants next; the server waits on it before producing one.
        using var next = new SemaphoreSlim(0);
        int produced = 0;
        await using var host = await TestHost.StartAsync(transport, app => app.MapGet("/events", (CancellationToken aborted) =>
            TypedResults.ServerSentEvents(ProduceAsync(next, () => Interlocked.Increment(ref produced), aborted))), output);
        using var client = new HttpClient { Timeout = Timeouts.Default };
        using var cts = new CancellationTokenSource(Timeouts.Default);

        // The response head goes out with the first event, so the first is asked for before the request.
        next.Release();
        using var response = await client.GetAsync(new Uri(host.Address, "/events"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var received = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cts.Token))
        {
            received.Add(item);
            // Nothing beyond this event exists yet: it arrived without the server sending more or ending.
            Assert.Equal(received.Count, Volatile.Read(ref produced));
            next.Release();
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Enumerable.Range(1, EventCount).Select(i => $"tick {i}"), received.Select(e => e.Data));
        Assert.All(received, e => Assert.Equal("tick", e.EventType));
        Assert.Equal(Enumerable.Range(1, EventCount).Select(i => $"{i}"), received.Select(e => e.EventId));
    }

    private static async IAsyncEnumerable<SseItem<string>> ProduceAsync(SemaphoreSlim next, Func<int> count,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int i = 1; i <= EventCount; i++)
        {
            if (!await next.WaitAsync(Timeouts.Default, cancellationToken))
            {
                throw new TimeoutException($"The client did not ask for event {i}.");
            }
            count();
            yield return new SseItem<string>($"tick {i}", "tick") { EventId = $"{i}" };
        }
    }
}

/// <summary><see cref="ServerSentEventsTests"/> on the epoll transport.</summary>
public sealed class EpollServerSentEventsTests(ITestOutputHelper output) : ServerSentEventsTests(TransportKind.Epoll, output);

/// <summary><see cref="ServerSentEventsTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsServerSentEventsTests(ITestOutputHelper output) : ServerSentEventsTests(TransportKind.Sockets, output);
