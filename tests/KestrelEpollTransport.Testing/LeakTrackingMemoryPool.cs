using System.Buffers;
using System.Collections.Concurrent;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// One pool of <see cref="LeakTrackingMemoryPoolFactory"/>: pinned 4 KiB blocks, reused, each rental handed out as
/// its own <see cref="Lease"/> so a second <c>Dispose</c> of the same rental is seen (and counted) rather than
/// returning a block that someone else has rented since.
/// </summary>
internal sealed class LeakTrackingMemoryPool : MemoryPool<byte>
{
    /// <summary>Where the counters live.</summary>
    private readonly LeakTrackingMemoryPoolFactory _factory;

    /// <summary>Returned blocks, ready to be rented again.</summary>
    private readonly ConcurrentQueue<PinnedBlock> _free = new();

    private int _disposed;

    public LeakTrackingMemoryPool(LeakTrackingMemoryPoolFactory factory) => _factory = factory;

    public override int MaxBufferSize => LeakTrackingMemoryPoolFactory.BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        // Kestrel's pinned block pool fails the same way: its callers never ask for more than a block.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, LeakTrackingMemoryPoolFactory.BlockSize);
        _factory.ThrowIfFaultInjected();
        if (!_free.TryDequeue(out var block))
        {
            block = new PinnedBlock();
        }
        _factory.OnRent();
        return new Lease(this, block);
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _factory.OnPoolDisposed();
        }
    }

    private void Return(PinnedBlock block)
    {
        _factory.OnReturn();
        _free.Enqueue(block);
    }

    /// <summary>One rental of a block; disposing it returns the block, once.</summary>
    private sealed class Lease(LeakTrackingMemoryPool pool, PinnedBlock block) : IMemoryOwner<byte>
    {
        private int _returned;

        public Memory<byte> Memory
        {
            get
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _returned) != 0, this);
                return block.Memory;
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) != 0)
            {
                pool._factory.OnDoubleReturn();
                return;
            }
            pool.Return(block);
        }
    }
}
