using System.Security.Cryptography;

namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>
/// Deterministic pseudo-random bytes of any length, so a sender and a checker can agree on content without either
/// holding 64 MiB. The stream repeats a random block whose length is a prime (1,000,003), so a piece lost,
/// repeated or moved by any multiple of a power-of-two buffer size changes the SHA-256.
/// </summary>
public static class Payload
{
    private const int PeriodLength = 1_000_003;

    private static readonly byte[] Period = CreatePeriod();

    /// <summary>Fills <paramref name="destination"/> with the bytes at <paramref name="offset"/> of the stream.</summary>
    public static void Fill(Span<byte> destination, long offset)
    {
        int position = (int)(offset % PeriodLength);
        while (!destination.IsEmpty)
        {
            int take = Math.Min(destination.Length, PeriodLength - position);
            Period.AsSpan(position, take).CopyTo(destination);
            destination = destination[take..];
            position = 0;
        }
    }

    /// <summary>The SHA-256 of the first <paramref name="length"/> bytes of the stream.</summary>
    public static byte[] Sha256(long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = new byte[64 * 1024];
        for (long offset = 0; offset < length; offset += chunk.Length)
        {
            int take = (int)Math.Min(chunk.Length, length - offset);
            Fill(chunk.AsSpan(0, take), offset);
            hash.AppendData(chunk, 0, take);
        }
        return hash.GetHashAndReset();
    }

    private static byte[] CreatePeriod()
    {
        var bytes = new byte[PeriodLength];
        new Random(20240611).NextBytes(bytes);
        return bytes;
    }
}
