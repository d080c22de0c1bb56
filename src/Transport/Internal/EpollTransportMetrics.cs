using System.Diagnostics.Metrics;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// The transport's meter, <c>KestrelEpollTransport</c>. Instruments cost a flag check when nobody listens
/// (dotnet-counters, OpenTelemetry), so they sit on the hot path unguarded.
/// </summary>
internal sealed class EpollTransportMetrics : IDisposable
{
    public const string MeterName = "KestrelEpollTransport";

    private readonly Meter _meter;
    private readonly Counter<long> _connectionsAccepted;
    private readonly UpDownCounter<long> _connectionsActive;
    private readonly Counter<long> _acceptErrors;
    private readonly Counter<long> _wakeups;
    private readonly Histogram<int> _eventsPerWait;

    public EpollTransportMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _connectionsAccepted = _meter.CreateCounter<long>("epoll.connections.accepted", "{connection}", "Connections accepted.");
        _connectionsActive = _meter.CreateUpDownCounter<long>("epoll.connections.active", "{connection}", "Connections open now.");
        _acceptErrors = _meter.CreateCounter<long>("epoll.accept.errors", "{error}", "accept4 failures other than EAGAIN, e.g. EMFILE.");
        _wakeups = _meter.CreateCounter<long>("epoll.loop.wakeups", "{wakeup}", "eventfd writes that woke a blocked loop.");
        _eventsPerWait = _meter.CreateHistogram<int>("epoll.loop.events_per_wait", "{event}", "Events returned by one epoll_wait.");
    }

    public void ConnectionAccepted()
    {
        _connectionsAccepted.Add(1);
        _connectionsActive.Add(1);
    }

    public void ConnectionClosed() => _connectionsActive.Add(-1);

    public void AcceptError() => _acceptErrors.Add(1);

    public void LoopWakeup() => _wakeups.Add(1);

    public void EventsPerWait(int count)
    {
        if (_eventsPerWait.Enabled)
        {
            _eventsPerWait.Record(count);
        }
    }

    public void Dispose() => _meter.Dispose();
}
