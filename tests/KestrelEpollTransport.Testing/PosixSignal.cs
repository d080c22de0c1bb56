using System.Runtime.InteropServices;

namespace KestrelEpollTransport.Testing;

/// <summary>Sends a signal to another process: .NET's Process.Kill only sends SIGKILL, which skips a graceful stop.</summary>
public static partial class PosixSignal
{
    /// <summary>SIGTERM on Linux (every architecture): what a service manager sends to stop a process.</summary>
    public const int SIGTERM = 15;

    /// <summary>Sends <paramref name="signal"/> to process <paramref name="pid"/>; throws when kill(2) fails.</summary>
    public static void Send(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
        {
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), $"kill({pid}, {signal}) failed");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
