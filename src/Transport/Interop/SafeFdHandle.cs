using KestrelEpollTransport.Internal;

namespace KestrelEpollTransport.Interop;

/// <summary>
/// Owns one file descriptor and closes it exactly once, when the handle is disposed and no call holds a
/// reference (<see cref="SafeHandle.DangerousAddRef"/>) any more, so a number still in use is never closed and reused.
/// A handle made with <c>ownsHandle: false</c> (an fd handed in by the host) is never closed.
/// </summary>
internal sealed class SafeFdHandle : SafeHandle
{
    /// <summary>The budget that counted this fd (an accepted connection's), told when the fd is really closed; else null.</summary>
    private readonly FdBudget? _budget;

    public SafeFdHandle(int fd, bool ownsHandle = true) : base(invalidHandleValue: -1, ownsHandle)
    {
        SetHandle(fd);
    }

    /// <summary>An accepted fd that <paramref name="budget"/> counts until it is closed.</summary>
    public SafeFdHandle(int fd, FdBudget budget) : this(fd)
    {
        _budget = budget;
    }

    /// <summary>The descriptor number; valid while a reference is held or the handle is not yet disposed.</summary>
    public int Fd => (int)handle;

    public override bool IsInvalid => (int)handle < 0;

    protected override bool ReleaseHandle()
    {
        bool closed = Libc.Close((int)handle) == 0;
        // After close(2), never before: the budget's room must not be handed out while the number is still open.
        _budget?.Released();
        return closed;
    }
}
