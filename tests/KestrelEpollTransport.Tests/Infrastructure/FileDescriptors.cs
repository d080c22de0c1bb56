using System.Runtime.InteropServices;

namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>
/// Raw fd operations a test needs to hand a socket to a server the way a host does (ListenHandle, systemd socket
/// activation) and to see afterwards whether the server closed it.
/// </summary>
internal static partial class FileDescriptors
{
    /// <summary>
    /// A second fd for the same open socket, without FD_CLOEXEC (dup(2) never sets it), so a child process started
    /// while it is open inherits it. The caller closes it.
    /// </summary>
    public static int Dup(int fd)
    {
        int copy = dup(fd);
        if (copy < 0)
        {
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), $"dup({fd}) failed");
        }
        return copy;
    }

    /// <summary>Closes <paramref name="fd"/>; false if it was not open (EBADF).</summary>
    public static bool Close(int fd) => close(fd) == 0;

    /// <summary>What fd <paramref name="fd"/> of process <paramref name="pid"/> refers to ("socket:[inode]"), or null if it is not open.</summary>
    public static string? Target(int fd, string pid = "self")
    {
        try
        {
            return new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
