using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;

namespace KestrelEpollTransport.Interop;

/// <summary>
/// A <c>struct sockaddr_storage</c> (128 bytes) and its conversions to and from <see cref="IPEndPoint"/>.
/// Layouts (netinet/in.h): <c>sockaddr_in</c> is family(2) port(2, big-endian) addr(4) zero(8) = 16 bytes;
/// <c>sockaddr_in6</c> is family(2) port(2, big-endian) flowinfo(4) addr(16) scope_id(4) = 28 bytes.
/// </summary>
internal struct SockAddr
{
    public const int Capacity = 128;
    public const int SizeOfSockAddrIn = 16;
    public const int SizeOfSockAddrIn6 = 28;

    /// <summary>Offset of <c>sun_path</c> in <c>sockaddr_un</c> (after the 2-byte family).</summary>
    public const int SunPathOffset = 2;

    /// <summary>Size of <c>sun_path</c>: a path holds at most 107 bytes and its terminating zero.</summary>
    public const int SunPathLength = 108;

    /// <summary>The raw bytes; only the first <see cref="Length"/> are meaningful.</summary>
    public Storage Bytes;

    /// <summary>The length the kernel reported or the one to pass to it.</summary>
    public int Length;

    [InlineArray(Capacity)]
    public struct Storage
    {
        private byte _element0;
    }

    public readonly int Family => Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(Bytes) : 0;

    public static SockAddr FromIPEndPoint(IPEndPoint endPoint)
    {
        var addr = default(SockAddr);
        Span<byte> b = addr.Bytes;
        if (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b, Sock.AF_INET);
            BinaryPrimitives.WriteUInt16BigEndian(b[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(b.Slice(4, 4), out _);
            addr.Length = SizeOfSockAddrIn;
        }
        else if (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b, Sock.AF_INET6);
            BinaryPrimitives.WriteUInt16BigEndian(b[2..], (ushort)endPoint.Port);
            // flowinfo (b[4..8]) stays 0.
            endPoint.Address.TryWriteBytes(b.Slice(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)endPoint.Address.ScopeId);
            addr.Length = SizeOfSockAddrIn6;
        }
        else
        {
            throw new NotSupportedException($"Address family {endPoint.AddressFamily} is not supported by the epoll transport.");
        }
        return addr;
    }

    /// <summary>
    /// A <c>sockaddr_un</c> for <paramref name="path"/>: a file system path, or an abstract name when it starts with
    /// '@' or '\0' (Linux: no file, gone with the socket). Throws when it does not fit in <c>sun_path</c>.
    /// </summary>
    public static SockAddr FromUnixPath(string path)
    {
        var addr = default(SockAddr);
        Span<byte> b = addr.Bytes;
        BinaryPrimitives.WriteUInt16LittleEndian(b, Sock.AF_UNIX);
        bool isAbstract = path.Length > 0 && (path[0] == '@' || path[0] == '\0');
        var name = b.Slice(SunPathOffset, SunPathLength);
        int length;
        if (isAbstract)
        {
            name[0] = 0;
            length = 1 + System.Text.Encoding.UTF8.GetBytes(path.AsSpan(1), name[1..]);
        }
        else
        {
            if (System.Text.Encoding.UTF8.GetByteCount(path) >= SunPathLength)
            {
                throw new ArgumentException($"The Unix socket path '{path}' is longer than the {SunPathLength - 1} bytes sockaddr_un holds.", nameof(path));
            }
            // Zero-terminated; the rest of the struct is zero already.
            length = System.Text.Encoding.UTF8.GetBytes(path, name) + 1;
        }
        addr.Length = SunPathOffset + length;
        return addr;
    }

    /// <summary>The IP end point held, or <see langword="null"/> when it is not AF_INET/AF_INET6.</summary>
    public readonly IPEndPoint? ToIPEndPoint()
    {
        ReadOnlySpan<byte> b = Bytes;
        switch (Family)
        {
            case Sock.AF_INET when Length >= SizeOfSockAddrIn:
                return new IPEndPoint(new IPAddress(b.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(b[2..]));
            case Sock.AF_INET6 when Length >= SizeOfSockAddrIn6:
                var address = new IPAddress(b.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(b[24..]));
                return new IPEndPoint(address, BinaryPrimitives.ReadUInt16BigEndian(b[2..]));
            default:
                return null;
        }
    }
}
