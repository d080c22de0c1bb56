using System.Diagnostics.Metrics;
using System.Text;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Operability;

/// <summary>
/// The meter <c>KestrelEpollTransport</c>, created from the host's <see cref="IMeterFactory"/> and read with
/// <see cref="MetricCollector{T}"/> scoped to that factory, so another test's host running meanwhile is not counted.
/// Epoll only: the Sockets transport has no meter of its own.
/// </summary>
public sealed class MetricsTests(ITestOutputHelper output)
{
    private const string MeterName = "KestrelEpollTransport";

    [Fact]
    public async Task Meter_HostStarted_PublishesEveryDocumentedInstrumentWithItsUnit()
    {
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output);
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        var published = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == MeterName && instrument.Meter.Scope == meterFactory)
                {
                    lock (published)
                    {
                        published.Add($"{instrument.Name} {instrument.Unit} {instrument.GetType().Name}");
                    }
                }
            },
        };

        // Start reports every instrument published so far, synchronously.
        listener.Start();

        // As README, "Metrics and logs".
        Assert.Equal(
        [
            "epoll.accept.deferred {deferral} Counter`1",
            "epoll.accept.errors {error} Counter`1",
            "epoll.connection.bytes_read By Counter`1",
            "epoll.connection.bytes_written By Counter`1",
            "epoll.connections.accepted {connection} Counter`1",
            "epoll.connections.active {connection} UpDownCounter`1",
            "epoll.loop.events_per_wait {event} Histogram`1",
            "epoll.loop.handoffs {handoff} Counter`1",
            "epoll.loop.reclaims {reclaim} Counter`1",
            "epoll.loop.wakeups {wakeup} Counter`1",
            "epoll.registrations {registration} ObservableGauge`1",
            "epoll.write.iovecs {iovec} Histogram`1",
        ], published.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Meter_ConnectionsOpenedThenClosed_AcceptedCountsThemActiveReturnsToZero()
    {
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output);
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var accepted = new MetricCollector<long>(meterFactory, MeterName, "epoll.connections.accepted");
        using var active = new MetricCollector<long>(meterFactory, MeterName, "epoll.connections.active");
        const int Connections = 3;

        var connections = new List<RawHttpConnection>();
        for (int i = 0; i < Connections; i++)
        {
            var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
            connections.Add(connection);
            await connection.SendAsync(RawHttpConnection.Get("/"));
            Assert.Equal(200, (await connection.ReadResponseAsync()).StatusCode);
        }
        long acceptedWhileOpen = Sum(accepted);
        long activeWhileOpen = Sum(active);
        foreach (var connection in connections)
        {
            connection.Dispose();
        }

        Assert.Equal(Connections, acceptedWhileOpen);
        Assert.Equal(Connections, activeWhileOpen);
        await Eventually.AssertAsync(() => Sum(active) == 0, () => $"active connections after the clients closed: {Sum(active)}");
        Assert.Equal(Connections, Sum(accepted));
    }

    [Fact]
    public async Task Meter_EchoOf256KiB_BytesReadAndWrittenGrowByAtLeastTheRequestAndResponse()
    {
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output);
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var bytesRead = new MetricCollector<long>(meterFactory, MeterName, "epoll.connection.bytes_read");
        using var bytesWritten = new MetricCollector<long>(meterFactory, MeterName, "epoll.connection.bytes_written");
        using var iovecs = new MetricCollector<int>(meterFactory, MeterName, "epoll.write.iovecs");
        using var eventsPerWait = new MetricCollector<int>(meterFactory, MeterName, "epoll.loop.events_per_wait");
        var body = new byte[256 * 1024];
        Payload.Fill(body, 0);
        byte[] head = Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body.Length}\r\n\r\n");

        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        await connection.SendAsync(head);
        await connection.SendAsync(body);
        var response = await connection.ReadResponseAsync();
        // The status line and headers, as sent: at least this much more than the body went out.
        long responseHeadBytes = Encoding.ASCII.GetByteCount("HTTP/1.1 200 OK\r\nContent-Length: 262144\r\n\r\n");

        Assert.Equal(body, response.Body);
        await Eventually.AssertAsync(() => Sum(bytesRead) >= head.Length + body.Length,
            () => $"bytes_read {Sum(bytesRead)}, request {head.Length + body.Length} bytes");
        await Eventually.AssertAsync(() => Sum(bytesWritten) >= body.Length + responseHeadBytes,
            () => $"bytes_written {Sum(bytesWritten)}, response at least {body.Length + responseHeadBytes} bytes");
        // Every writev sent 1 to MaxIOVectors buffers; every epoll_wait recorded reported 1 to 256 events.
        var writes = iovecs.GetMeasurementSnapshot();
        var waits = eventsPerWait.GetMeasurementSnapshot();
        output.WriteLine($"writev calls {writes.Count}, iovecs {string.Join(' ', writes.Select(m => m.Value))}; epoll_waits {waits.Count}");
        Assert.NotEmpty(writes);
        Assert.All(writes, m => Assert.InRange(m.Value, 1, KestrelEpollTransport.Interop.Libc.MaxIOVectors));
        Assert.NotEmpty(waits);
        Assert.All(waits, m => Assert.InRange(m.Value, 1, 256));
    }

    [Fact]
    public async Task Meter_TwoOpenConnections_RegistrationsGaugeCountsListenerAndConnections()
    {
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output);
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var registrations = new MetricCollector<int>(meterFactory, MeterName, "epoll.registrations");

        registrations.RecordObservableInstruments();
        int idle = registrations.LastMeasurement!.Value;
        var first = await RawHttpConnection.ConnectAsync(host.EndPoint);
        using var second = await RawHttpConnection.ConnectAsync(host.EndPoint);
        foreach (var connection in new[] { first, second })
        {
            await connection.SendAsync(RawHttpConnection.Get("/"));
            Assert.Equal(200, (await connection.ReadResponseAsync()).StatusCode);
        }
        registrations.RecordObservableInstruments();
        int withTwo = registrations.LastMeasurement!.Value;
        first.Dispose();

        Assert.Equal(1, idle); // the listener
        Assert.Equal(3, withTwo);
        await Eventually.AssertAsync(() =>
        {
            registrations.RecordObservableInstruments();
            return registrations.LastMeasurement!.Value == 2;
        }, () => $"registrations after one client closed: {registrations.LastMeasurement!.Value}");
    }

    private static long Sum(MetricCollector<long> collector) => collector.GetMeasurementSnapshot().EvaluateAsCounter();
}
