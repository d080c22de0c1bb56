using System.Diagnostics.Metrics;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// The transport's meter, <c>KestrelEpollTransport</c> (see README, "Metrics", for names and units; watch it with
/// <c>dotnet-counters monitor --counters KestrelEpollTransport</c>). One per transport factory. Hot-path instruments are
/// guarded by <c>Enabled</c>, a field read when nobody listens.
/// </summary>
internal sealed class EpollTransportMetrics
{
    public const string MeterName = "KestrelEpollTransport";

    /// <summary>For a host without an <see cref="IMeterFactory"/> (ASP.NET Core hosts have one): one meter per process.</summary>
    private static readonly Meter SharedMeter = new(MeterName);

    private readonly Meter _meter;
    private readonly Counter<long> _connectionsAccepted;
    private readonly UpDownCounter<long> _connectionsActive;
    private readonly Counter<long> _acceptErrors;
    private readonly Counter<long> _acceptDeferred;
    private readonly Counter<long> _bytesRead;
    private readonly Counter<long> _bytesWritten;
    private readonly Counter<long> _wakeups;
    private readonly Counter<long> _handOffs;
    private readonly Counter<long> _reclaims;
    private readonly Histogram<int> _eventsPerWait;
    private readonly Histogram<int> _iovecsPerWrite;

    /// <param name="meterFactory">The host's meter factory (it owns the meter); null: a process-wide meter.</param>
    /// <param name="registrations">Reports the registrations (connections and listeners) of the live loops.</param>
    public EpollTransportMetrics(IMeterFactory? meterFactory = null, Func<int>? registrations = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? SharedMeter;
        _connectionsAccepted = _meter.CreateCounter<long>("epoll.connections.accepted", "{connection}", "Connections accepted.");
        _connectionsActive = _meter.CreateUpDownCounter<long>("epoll.connections.active", "{connection}", "Connections open now.");
        _acceptErrors = _meter.CreateCounter<long>("epoll.accept.errors", "{error}", "accept4 failures other than EAGAIN (tag error: EMFILE, ENFILE, ...).");
        _acceptDeferred = _meter.CreateCounter<long>("epoll.accept.deferred", "{deferral}", "Times a listener stopped calling accept4 because the transport reached its fd budget (pending connections wait in the backlog).");
        _bytesRead = _meter.CreateCounter<long>("epoll.connection.bytes_read", "By", "Bytes read from connections.");
        _bytesWritten = _meter.CreateCounter<long>("epoll.connection.bytes_written", "By", "Bytes written to connections.");
        _wakeups = _meter.CreateCounter<long>("epoll.loop.wakeups", "{wakeup}", "eventfd writes that woke a blocked loop.");
        _handOffs = _meter.CreateCounter<long>("epoll.loop.handoffs", "{handoff}", "Busy periods in which the thread pool polled for a loop.");
        _reclaims = _meter.CreateCounter<long>("epoll.loop.reclaims", "{reclaim}", "Hand-offs ended by the loop thread because no pool thread ran the poll for 10 ms.");
        _eventsPerWait = _meter.CreateHistogram<int>("epoll.loop.events_per_wait", "{event}", "Events returned by one epoll_wait that returned any.");
        _iovecsPerWrite = _meter.CreateHistogram<int>("epoll.write.iovecs", "{iovec}", "Buffers (iovecs) sent by one sendmsg: the batch size.");
        if (registrations is not null)
        {
            _meter.CreateObservableGauge("epoll.registrations", registrations, "{registration}", "Connections and listeners registered with the event loops.");
        }
    }

    public void ConnectionAccepted()
    {
        _connectionsAccepted.Add(1);
        _connectionsActive.Add(1);
    }

    public void ConnectionClosed() => _connectionsActive.Add(-1);

    public void AcceptError(string error) => _acceptErrors.Add(1, new KeyValuePair<string, object?>("error", error));

    public void AcceptDeferred() => _acceptDeferred.Add(1);

    public void BytesRead(long count)
    {
        if (_bytesRead.Enabled)
        {
            _bytesRead.Add(count);
        }
    }

    public void BytesWritten(long count, int iovecs)
    {
        if (_bytesWritten.Enabled)
        {
            _bytesWritten.Add(count);
        }
        if (_iovecsPerWrite.Enabled)
        {
            _iovecsPerWrite.Record(iovecs);
        }
    }

    public void LoopWakeup()
    {
        if (_wakeups.Enabled)
        {
            _wakeups.Add(1);
        }
    }

    public void LoopHandOff()
    {
        if (_handOffs.Enabled)
        {
            _handOffs.Add(1);
        }
    }

    public void LoopReclaim()
    {
        if (_reclaims.Enabled)
        {
            _reclaims.Add(1);
        }
    }

    public void EventsPerWait(int count)
    {
        if (_eventsPerWait.Enabled)
        {
            _eventsPerWait.Record(count);
        }
    }
}
