namespace KestrelEpollTransport.Internal;

/// <summary>
/// Connection ids in Kestrel's own shape: 13 characters of base32 from a 64-bit counter seeded by the clock, so ids
/// are unique in a process and unlikely to repeat across restarts.
/// </summary>
internal static class ConnectionIdGenerator
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

    private static long _lastId = DateTime.UtcNow.Ticks;

    public static string Next() => string.Create(13, Interlocked.Increment(ref _lastId), static (buffer, id) =>
    {
        for (int i = 12; i >= 0; i--)
        {
            buffer[i] = Alphabet[(int)(id & 31)];
            id >>= 5;
        }
    });
}
