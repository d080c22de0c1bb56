using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// A 4 KiB block on the pinned object heap behind a <see cref="MemoryManager{T}"/>, as in Kestrel's pinned block
/// pool: <see cref="Pin"/> hands out the address without a <see cref="GCHandle"/>, because the array never moves.
/// </summary>
internal sealed unsafe class PinnedBlock : MemoryManager<byte>
{
    private readonly byte[] _array = GC.AllocateArray<byte>(LeakTrackingMemoryPoolFactory.BlockSize, pinned: true);

    public override Span<byte> GetSpan() => _array;

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _array.Length);
        return new MemoryHandle((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array)) + elementIndex);
    }

    public override void Unpin()
    {
        // Nothing to undo: the array is on the pinned object heap.
    }

    protected override bool TryGetArray(out ArraySegment<byte> segment)
    {
        segment = new ArraySegment<byte>(_array);
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        // The block's memory belongs to the GC; nothing to free.
    }
}
