using Microsoft.Win32.SafeHandles;

namespace Stress.Server;

/// <summary>
/// <c>GET /hog?n=&amp;ms=</c>: the rest of the process takes fds behind the transport's back (files, outgoing
/// connections): opens up to <c>n</c> fds (/dev/null) at once and holds them <c>ms</c> milliseconds on a thread of its
/// own, so they are given back on time even when every pool thread is blocked.
/// </summary>
internal static class FdHog
{
    /// <summary>Opens the fds now and returns how many it got; a thread closes them after <paramref name="hold"/>.</summary>
    public static int Take(int count, TimeSpan hold)
    {
        var handles = new List<SafeFileHandle>(count);
        // The thread first: starting it takes fds too. The event is not disposed: the thread may still be leaving Wait.
        var opened = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            opened.Wait();
            Thread.Sleep(hold);
            foreach (var handle in handles)
            {
                handle.Dispose();
            }
        }) { IsBackground = true, Name = "fd-hog" };
        thread.Start();
        try
        {
            while (handles.Count < count)
            {
                handles.Add(File.OpenHandle("/dev/null"));
            }
        }
        catch (IOException)
        {
            // Out of fds: hold what was opened.
        }
        int taken = handles.Count;
        opened.Set();
        return taken;
    }
}
