using Microsoft.AspNetCore.Connections;
using System.Buffers;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// An <see cref="IMemoryPoolFactory{T}"/> whose pools count every block rented and returned, so a test can assert
/// that a transport (and Kestrel above it) gave every block back, and how many bytes it held at most at once.
/// Registered in a test host's services after the transport, so both the epoll transport and Kestrel's Sockets
/// transport take their pools from it.
/// </summary>
/// <remarks>
/// A test can make one rental fail (<see cref="FailNextRent"/>), to fault the transport from inside its loop.
/// The counters are shared by all pools this factory created (one per epoll loop, one per Sockets I/O queue), so
/// "outstanding" is the whole server's, which is what the tests bound.
/// </remarks>
public sealed class LeakTrackingMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    /// <summary>The size of every block, as Kestrel's own pinned block pool.</summary>
    public const int BlockSize = 4096;

    private long _rented;
    private long _returned;
    private long _doubleReturns;
    private long _poolsCreated;
    private long _poolsDisposed;
    private long _highWaterBlocks;
    private long _injectedFaults;

    /// <summary>Decides whether a rental fails; null: none does. See <see cref="FailNextRent"/>.</summary>
    private Func<bool>? _faultFilter;

    /// <summary>Blocks rented so far.</summary>
    public long Rented => Interlocked.Read(ref _rented);

    /// <summary>Blocks returned so far.</summary>
    public long Returned => Interlocked.Read(ref _returned);

    /// <summary>Blocks rented and not yet returned.</summary>
    public long Outstanding => Rented - Returned;

    /// <summary>The most blocks that were outstanding at once.</summary>
    public long HighWaterBlocks => Interlocked.Read(ref _highWaterBlocks);

    /// <summary>The most bytes that were outstanding at once.</summary>
    public long HighWaterBytes => HighWaterBlocks * BlockSize;

    /// <summary>Times a rented block was returned more than once (always a bug in whoever returned it).</summary>
    public long DoubleReturns => Interlocked.Read(ref _doubleReturns);

    /// <summary>Pools created by this factory.</summary>
    public long PoolsCreated => Interlocked.Read(ref _poolsCreated);

    /// <summary>Pools disposed.</summary>
    public long PoolsDisposed => Interlocked.Read(ref _poolsDisposed);

    /// <summary>Bytes rented and not yet returned.</summary>
    public long OutstandingBytes => Outstanding * BlockSize;

    /// <summary>
    /// Makes the next rental for which <paramref name="filter"/> is true throw <see cref="InjectedFaultException"/>
    /// (once; the filter runs on the renting thread, so it can pick e.g. an event-loop thread).
    /// </summary>
    public void FailNextRent(Func<bool> filter) => Volatile.Write(ref _faultFilter, filter);

    /// <summary>How many rentals were made to fail.</summary>
    public long InjectedFaults => Interlocked.Read(ref _injectedFaults);

    internal void ThrowIfFaultInjected()
    {
        var filter = Volatile.Read(ref _faultFilter);
        if (filter is not null && filter() && Interlocked.CompareExchange(ref _faultFilter, null, filter) == filter)
        {
            Interlocked.Increment(ref _injectedFaults);
            throw new InjectedFaultException();
        }
    }

    /// <summary>Forgets the high-water mark, so a test can measure one phase.</summary>
    public void ResetHighWater() => Interlocked.Exchange(ref _highWaterBlocks, Outstanding);

    /// <summary>A one-line summary for assertion messages.</summary>
    public string Describe() =>
        $"rented {Rented}, returned {Returned}, outstanding {Outstanding}, high-water {HighWaterBlocks} blocks " +
        $"({HighWaterBytes} B), double returns {DoubleReturns}, pools created {PoolsCreated}, disposed {PoolsDisposed}";

    /// <inheritdoc />
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        Interlocked.Increment(ref _poolsCreated);
        return new LeakTrackingMemoryPool(this);
    }

    internal void OnRent()
    {
        long outstanding = Interlocked.Increment(ref _rented) - Interlocked.Read(ref _returned);
        long highWater = Interlocked.Read(ref _highWaterBlocks);
        while (outstanding > highWater)
        {
            long seen = Interlocked.CompareExchange(ref _highWaterBlocks, outstanding, highWater);
            if (seen == highWater)
            {
                break;
            }
            highWater = seen;
        }
    }

    internal void OnReturn() => Interlocked.Increment(ref _returned);

    internal void OnDoubleReturn() => Interlocked.Increment(ref _doubleReturns);

    internal void OnPoolDisposed() => Interlocked.Increment(ref _poolsDisposed);
}
