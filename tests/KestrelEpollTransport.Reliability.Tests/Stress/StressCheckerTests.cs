using System.Buffers.Binary;
using Stress;
using Stress.Client.Operations;

namespace KestrelEpollTransport.Reliability.Tests.Stress;

/// <summary>The stress tool's checks catch what they claim to: a wrong byte, another connection's bytes, a short body.</summary>
public sealed class StressCheckerTests
{
    private static readonly ulong Nonce = StressPayload.MakeNonce(0x5eed, 7);

    [Fact]
    public void PayloadVerifier_ExactStreamInOddPieces_Completes()
    {
        var body = Payload(Nonce, 3, 100_003);
        var verifier = new PayloadVerifier(Nonce, 3, body.Length);
        for (int offset = 0, piece = 1; offset < body.Length; offset += piece, piece = piece * 7 % 4099 + 1)
        {
            verifier.Feed(body.AsSpan(offset, Math.Min(piece, body.Length - offset)));
        }
        verifier.AssertComplete();
        Assert.True(verifier.IsComplete);
    }

    [Fact]
    public void PayloadVerifier_OneFlippedBit_ReportsCorrupted()
    {
        var body = Payload(Nonce, 3, 70_000);
        body[54_321] ^= 0x10;
        var failure = Assert.Throws<StressFailureException>(() => new PayloadVerifier(Nonce, 3, body.Length).Feed(body));
        Assert.Equal(FailureKind.Corrupted, failure.Kind);
        Assert.Contains("54321", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PayloadVerifier_BlockOfAnotherConnection_ReportsMisrouted()
    {
        var body = Payload(Nonce, 3, 70_000);
        ulong other = StressPayload.MakeNonce(0x5eed, 8);
        Payload(other, 1, 16).CopyTo(body.AsSpan(32_000));
        var failure = Assert.Throws<StressFailureException>(() => new PayloadVerifier(Nonce, 3, body.Length).Feed(body));
        Assert.Equal(FailureKind.Misrouted, failure.Kind);
        Assert.Contains(other.ToString("x16", System.Globalization.CultureInfo.InvariantCulture), failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PayloadVerifier_BodyEndsEarly_ReportsTruncated()
    {
        var body = Payload(Nonce, 3, 1000);
        var verifier = new PayloadVerifier(Nonce, 3, 1001);
        verifier.Feed(body);
        var failure = Assert.Throws<StressFailureException>(verifier.AssertComplete);
        Assert.Equal(FailureKind.Truncated, failure.Kind);
    }

    [Fact]
    public void PayloadVerifier_SameConnectionWrongExchange_ReportsCorruptedNotMisrouted()
    {
        var body = Payload(Nonce, 4, 4096);
        var failure = Assert.Throws<StressFailureException>(() => new PayloadVerifier(Nonce, 3, body.Length).Feed(body));
        Assert.Equal(FailureKind.Corrupted, failure.Kind);
    }

    [Fact]
    public void CheckHello_AnotherConnectionsAnswer_ReportsMisrouted()
    {
        ulong other = StressPayload.MakeNonce(0x5eed, 9);
        var failure = Assert.Throws<StressFailureException>(() => Requests.CheckHello($"{other:x16}-1", Nonce, 1));
        Assert.Equal(FailureKind.Misrouted, failure.Kind);
        Requests.CheckHello($"{Nonce:x16}-1", Nonce, 1);
    }

    [Fact]
    public void Payload_Blocks_CarryNonceSequenceAndIndex()
    {
        var body = Payload(Nonce, 3, 48);
        Assert.Equal(Nonce, BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(32)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(40)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(44)));
    }

    private static byte[] Payload(ulong nonce, uint sequence, int length)
    {
        var bytes = new byte[length];
        StressPayload.Fill(bytes, nonce, sequence, 0);
        return bytes;
    }
}
