using KestrelEpollTransport.Interop;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// A loop's epoll instance and the handlers registered in it: slot per handler, generation tokens, and the epoll fd's
/// lifetime.
/// </summary>
/// <remarks>
/// <c>epoll_data</c> carries slot + generation (<see cref="IEpollHandler.EpollToken"/>), never a bare fd: the kernel
/// reuses fd numbers at once, and an event fetched before a close can be handled after it. <see cref="Find"/> drops an
/// event whose token does not match the handler now in its slot. Each handler reports its own token, so the check
/// compares one immutable field of one object: no torn read of a (handler, generation) pair is possible.
/// Threading: <see cref="Find"/> is lock-free, for the thread running as the loop; everything else takes
/// <see cref="_lock"/> and may be called from any thread.
/// </remarks>
internal sealed class RegistrationTable
{
    /// <summary>Where the table stands; moves forward only.</summary>
    private enum TableState
    {
        /// <summary>Registrations are accepted.</summary>
        Open,

        /// <summary>The stopping loop took its snapshot of the handlers to stop: a handler registered now would never be told, so <see cref="Register"/> refuses.</summary>
        Stopped,

        /// <summary>The epoll fd is closed: its number may be someone else's, so nothing calls epoll_ctl on it.</summary>
        Closed,
    }

    /// <summary>
    /// Guards the table (<see cref="_handlers"/> growth and slot writes, <see cref="_freeSlots"/>, <see cref="_slotsUsed"/>,
    /// <see cref="_generation"/>, <see cref="_count"/>, <see cref="_state"/>) and the epoll fd's lifetime: every
    /// epoll_ctl happens under it after a look at <see cref="_state"/>, and <see cref="Close"/> closes the fd under it.
    /// </summary>
    private readonly Lock _lock = new();

    private TableState _state;

    /// <summary>Handler per slot; read lock-free by <see cref="Find"/> (array reference and element reads are atomic).</summary>
    private IEpollHandler?[] _handlers = new IEpollHandler?[64];

    /// <summary>Slots free for reuse.</summary>
    private readonly Stack<int> _freeSlots = new();

    /// <summary>Slots ever handed out: the next new slot's index.</summary>
    private int _slotsUsed;

    /// <summary>Incremented per registration; the high half of a token.</summary>
    private uint _generation;

    /// <summary>Live registrations (reserved slots included).</summary>
    private int _count;

    /// <exception cref="IOException">epoll_create1 failed.</exception>
    public RegistrationTable()
    {
        EpollFd = Epoll.Create();
        if (EpollFd < 0)
        {
            throw new IOException($"epoll_create1 failed: {Errno.Describe(-EpollFd)}");
        }
    }

    /// <summary>The epoll fd: waited on by the loop thread (which ends before <see cref="Close"/>), changed only here.</summary>
    public int EpollFd { get; }

    /// <summary>Live registrations; for tests and metrics.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Reserves a slot and returns the token a handler must report before <see cref="Register"/>. Any thread.</summary>
    public ulong ReserveToken()
    {
        lock (_lock)
        {
            if (!_freeSlots.TryPop(out int slot))
            {
                slot = _slotsUsed++;
                if (slot == _handlers.Length)
                {
                    var grown = new IEpollHandler?[_handlers.Length * 2];
                    _handlers.CopyTo(grown, 0);
                    Volatile.Write(ref _handlers, grown);
                }
            }
            _generation++;
            _count++;
            return ((ulong)_generation << 32) | (uint)slot;
        }
    }

    /// <summary>
    /// Publishes <paramref name="handler"/> in the slot of its token and adds <paramref name="fd"/> to epoll, once for the
    /// fd's lifetime. Events may reach the handler before this returns. Any thread.
    /// </summary>
    /// <returns>0, or <c>-errno</c> from epoll_ctl (EBADF once the loop is stopping); the slot is then released.</returns>
    public int Register(int fd, uint events, IEpollHandler handler)
    {
        ulong token = handler.EpollToken;
        int slot = (int)(uint)token;
        lock (_lock)
        {
            Debug.Assert(_handlers[slot] is null, "Registering into a slot that is in use.");
            // Published and added in one step under the lock: an Unregister sees either neither or both.
            Volatile.Write(ref _handlers[slot], handler);
            int result = _state != TableState.Open ? -Errno.EBADF : Epoll.Control(EpollFd, Epoll.EPOLL_CTL_ADD, fd, events, token);
            if (result < 0)
            {
                ReleaseSlotUnsynchronized(slot);
            }
            return result;
        }
    }

    /// <summary>
    /// Removes <paramref name="handler"/>'s fd from epoll and frees its slot, if the slot still holds it: a handler whose
    /// <see cref="Register"/> failed, or that was unregistered already, is not in the table and nothing happens. Call
    /// before the fd is closed. Any thread (a late event then finds no handler).
    /// </summary>
    public void Unregister(int fd, IEpollHandler handler)
    {
        int slot = (int)(uint)handler.EpollToken;
        lock (_lock)
        {
            if (!ReferenceEquals(_handlers[slot], handler))
            {
                return;
            }
            if (_state != TableState.Closed)
            {
                // EPOLL_CTL_DEL before close: an fd whose file is shared (dup, fork) would otherwise stay in the set.
                _ = Epoll.Control(EpollFd, Epoll.EPOLL_CTL_DEL, fd, 0, 0);
            }
            ReleaseSlotUnsynchronized(slot);
        }
    }

    /// <summary>The handler an event's token names, or null for a stale event. Lock-free; as the loop.</summary>
    public IEpollHandler? Find(ulong token)
    {
        var handlers = Volatile.Read(ref _handlers);
        int slot = (int)(uint)token;
        var handler = (uint)slot < (uint)handlers.Length ? Volatile.Read(ref handlers[slot]) : null;
        // A stale event: its registration was removed (and perhaps the slot reused) after epoll_wait fetched it.
        return handler is not null && handler.EpollToken == token ? handler : null;
    }

    /// <summary>Open → Stopped: refuses registrations from now on; returns the handlers still registered.</summary>
    public IEpollHandler?[] Stop()
    {
        lock (_lock)
        {
            if (_state == TableState.Open)
            {
                _state = TableState.Stopped;
            }
            return (IEpollHandler?[])_handlers.Clone();
        }
    }

    /// <summary>→ Closed: closes the epoll fd. The loop thread has ended (or never started).</summary>
    public void Close()
    {
        lock (_lock)
        {
            _state = TableState.Closed;
            Libc.Close(EpollFd);
        }
    }

    private void ReleaseSlotUnsynchronized(int slot)
    {
        _handlers[slot] = null;
        _freeSlots.Push(slot);
        _count--;
    }
}
