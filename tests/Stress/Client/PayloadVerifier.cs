using System.Buffers.Binary;
using System.Globalization;

namespace Stress.Client;

/// <summary>
/// Checks a body of <see cref="StressPayload"/> as it arrives, piece by piece, against the stream it should be, and
/// throws a <see cref="StressFailureException"/> at the first wrong byte, saying whose bytes they were.
/// </summary>
internal sealed class PayloadVerifier
{
    private readonly ulong _nonce;
    private readonly uint _sequence;
    private readonly long _length;
    private readonly byte[] _expected = new byte[16 * 1024];

    public PayloadVerifier(ulong nonce, uint sequence, long length)
    {
        _nonce = nonce;
        _sequence = sequence;
        _length = length;
    }

    /// <summary>Bytes checked so far.</summary>
    public long Offset { get; private set; }

    /// <summary>Whether every byte of the body has arrived.</summary>
    public bool IsComplete => Offset == _length;

    /// <summary>Checks the next piece of the body.</summary>
    public void Feed(ReadOnlySpan<byte> received)
    {
        if (Offset + received.Length > _length)
        {
            throw new StressFailureException(FailureKind.Corrupted,
                $"{Offset + received.Length} bytes arrived for a body of {_length} (nonce {_nonce:x16}, sequence {_sequence}).");
        }
        while (!received.IsEmpty)
        {
            int take = Math.Min(received.Length, _expected.Length);
            var expected = _expected.AsSpan(0, take);
            StressPayload.Fill(expected, _nonce, _sequence, Offset);
            int mismatch = received[..take].CommonPrefixLength(expected);
            if (mismatch < take)
            {
                throw Classify(received, mismatch);
            }
            received = received[take..];
            Offset += take;
        }
    }

    /// <summary>Throws <see cref="FailureKind.Truncated"/> unless the whole body arrived.</summary>
    public void AssertComplete()
    {
        if (!IsComplete)
        {
            throw new StressFailureException(FailureKind.Truncated,
                $"The body ended after {Offset} of {_length} bytes (nonce {_nonce:x16}, sequence {_sequence}).");
        }
    }

    private StressFailureException Classify(ReadOnlySpan<byte> received, int index)
    {
        long at = Offset + index;
        int blockStart = index - (int)(at % StressPayload.BlockSize);
        string where = string.Create(CultureInfo.InvariantCulture,
            $"at byte {at} of {_length} (nonce {_nonce:x16}, sequence {_sequence})");
        if (blockStart >= 0 && blockStart + StressPayload.BlockSize <= received.Length)
        {
            var block = received.Slice(blockStart, StressPayload.BlockSize);
            ulong nonce = BinaryPrimitives.ReadUInt64LittleEndian(block);
            uint sequence = BinaryPrimitives.ReadUInt32LittleEndian(block[8..]);
            uint index2 = BinaryPrimitives.ReadUInt32LittleEndian(block[12..]);
            // Another connection's block: a nonce of this run that is not ours, in a block that is not simply ours
            // with a damaged nonce (same sequence and index as expected here).
            bool ourBlockDamaged = sequence == _sequence && index2 == (uint)(at / StressPayload.BlockSize);
            if (nonce != _nonce && StressPayload.RunIdOf(nonce) == StressPayload.RunIdOf(_nonce) && !ourBlockDamaged)
            {
                return new StressFailureException(FailureKind.Misrouted,
                    $"Bytes of connection {nonce:x16} (sequence {sequence}, block {index2}) arrived {where}.");
            }
            return new StressFailureException(FailureKind.Corrupted,
                $"Wrong bytes {where}: the block reads nonce {nonce:x16}, sequence {sequence}, block {index2}; expected block {at / StressPayload.BlockSize}.");
        }
        return new StressFailureException(FailureKind.Corrupted, $"Wrong byte {where}.");
    }
}
