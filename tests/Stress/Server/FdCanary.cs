using System.Runtime.InteropServices;

namespace Stress.Server;

/// <summary>
/// <c>Stress serve --fd-canary 1</c>: a thread that does what every thread start does (pipe2, then close) every ~50 µs
/// and counts how often the process had no fd for it (EMFILE/ENFILE). Each failure is a moment in which the runtime
/// could not have started a thread, and would have aborted the process ("Out of memory."). The fd-exhaustion tests
/// assert it never fails on the epoll transport; on Sockets, which accepts until EMFILE, it does.
/// </summary>
internal sealed partial class FdCanary : IDisposable
{
    private const int EMFILE = 24;
    private const int ENFILE = 23;
    private const int O_CLOEXEC = 0x80000;

    /// <summary>The pause between two tries, in microseconds.</summary>
    private const uint PeriodMicroseconds = 50;

    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _runs;
    private long _failures;

    public FdCanary()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "fd-canary" };
        _thread.Start();
    }

    /// <summary>pipe2 calls made so far.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>pipe2 calls that failed with EMFILE or ENFILE.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    private unsafe void Run()
    {
        int* fds = stackalloc int[2];
        while (!_stopping)
        {
            if (pipe2(fds, O_CLOEXEC) == 0)
            {
                close(fds[0]);
                close(fds[1]);
            }
            else if (Marshal.GetLastPInvokeError() is EMFILE or ENFILE)
            {
                Interlocked.Increment(ref _failures);
            }
            Interlocked.Increment(ref _runs);
            usleep(PeriodMicroseconds);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int usleep(uint microseconds);
}
