using System.IO.Pipelines;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Looks at what a connection's input holds without consuming or examining it. A read waits for more only once what is
/// there is marked examined, and the pipe counts examined bytes off its pause threshold, which would release the
/// backpressure a test builds; so such a test cannot await the input and waits on this look instead.
/// </summary>
internal static class InputPeek
{
    /// <summary>The bytes the input holds now; 0 when nothing is there.</summary>
    public static long Buffered(PipeReader input)
    {
        if (!input.TryRead(out var result))
        {
            return 0;
        }
        long buffered = result.Buffer.Length;
        input.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
        return buffered;
    }

    /// <summary>Waits (bounded) until the input holds at least <paramref name="atLeast"/> bytes; returns what it holds.</summary>
    public static async Task<long> WaitBufferedAsync(PipeReader input, long atLeast)
    {
        long buffered = 0;
        await Eventually.AssertAsync(() => (buffered = Buffered(input)) >= atLeast, () => $"the input holds {buffered} of {atLeast} bytes");
        return buffered;
    }
}
