using System.Runtime.CompilerServices;

namespace KestrelEpollTransport.Interop;

/// <summary>
/// What read(2), write(2) or sendmsg(2) returned: a byte count (<see cref="Bytes"/>, 0 included) or an errno
/// (<see cref="IsError"/>, <see cref="Errno"/>), never both. One word, as the syscall's own result.
/// </summary>
internal readonly struct IoResult
{
    /// <summary>The byte count, or <c>-errno</c>.</summary>
    private readonly nint _bytesOrError;

    private IoResult(nint bytesOrError) => _bytesOrError = bytesOrError;

    /// <summary>Whether the call failed; <see cref="Errno"/> says why.</summary>
    public bool IsError => _bytesOrError < 0;

    /// <summary>The bytes read or written; 0 from a read is end of stream. Only when not <see cref="IsError"/>.</summary>
    public nint Bytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Debug.Assert(!IsError, $"An I/O error has no byte count: {this}.");
            return _bytesOrError;
        }
    }

    /// <summary>The errno of a failed call; 0 when it did not fail.</summary>
    public int Errno => IsError ? (int)-_bytesOrError : 0;

    /// <summary>The call would have blocked (EAGAIN): a status of nonblocking I/O, not a failure of the connection.</summary>
    public bool WouldBlock => _bytesOrError == -Interop.Errno.EAGAIN;

    /// <summary>The raw word: the byte count, or <c>-errno</c> (for tests and messages).</summary>
    public nint BytesOrError => _bytesOrError;

    /// <summary>Reads errno when <paramref name="result"/> is negative; the one place an I/O call's result is typed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static IoResult FromSyscall(nint result) => new(Libc.Result(result));

    public override string ToString() => IsError ? Interop.Errno.Describe(Errno) : $"{_bytesOrError} bytes";
}
