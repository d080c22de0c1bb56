using System.Buffers.Binary;

namespace Stress;

/// <summary>
/// The bytes every body of the stress run is made of, computable at any offset by both ends without storing them:
/// 16-byte blocks of <c>[nonce: u64][sequence: u32][block index: u32]</c>, little-endian. The nonce names the
/// connection, the sequence the exchange on it, the index the position, so a checker can tell which connection a
/// wrong byte came from (misrouted), or that it came from nowhere (corrupted), or from the wrong place.
/// </summary>
/// <remarks>
/// Nonces are <c>run id &lt;&lt; 32 | connection number</c>: a foreign block carrying this run's id came from another
/// connection of the same run, which is what "misrouted" means, and no registry of every nonce ever issued is needed
/// for an hour-long run.
/// </remarks>
internal static class StressPayload
{
    /// <summary>Bytes per block.</summary>
    public const int BlockSize = 16;

    /// <summary>Fills <paramref name="destination"/> with the stream of (<paramref name="nonce"/>, <paramref name="sequence"/>) from <paramref name="offset"/> on.</summary>
    public static void Fill(Span<byte> destination, ulong nonce, uint sequence, long offset)
    {
        Span<byte> block = stackalloc byte[BlockSize];
        while (!destination.IsEmpty)
        {
            int within = (int)(offset % BlockSize);
            WriteBlock(block, nonce, sequence, (uint)(offset / BlockSize));
            int take = Math.Min(BlockSize - within, destination.Length);
            block.Slice(within, take).CopyTo(destination);
            destination = destination[take..];
            offset += take;
        }
    }

    /// <summary>The run id half of a nonce.</summary>
    public static uint RunIdOf(ulong nonce) => (uint)(nonce >> 32);

    /// <summary>Makes the nonce of connection <paramref name="connectionNumber"/> of run <paramref name="runId"/>.</summary>
    public static ulong MakeNonce(uint runId, uint connectionNumber) => ((ulong)runId << 32) | connectionNumber;

    private static void WriteBlock(Span<byte> block, ulong nonce, uint sequence, uint index)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(block, nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], index);
    }
}
