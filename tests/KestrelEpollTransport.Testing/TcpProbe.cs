using System.Net;
using System.Net.Sockets;

namespace KestrelEpollTransport.Testing;

/// <summary>Asks the kernel whether anything listens at an address, the way a client finds out: by connecting.</summary>
public static class TcpProbe
{
    /// <summary>Whether a connection to <paramref name="endPoint"/> is refused (nothing listens there).</summary>
    public static bool IsRefused(IPEndPoint endPoint)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Loopback: a refusal or an accept comes back at once, so the blocking connect is bounded.
            socket.Connect(endPoint);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }
}
