using System.Net;
using System.Net.Sockets;

namespace KestrelEpollTransport.Testing;

/// <summary>Ports for tests that bind Kestrel's "localhost" (a listener on 127.0.0.1 and one on [::1]).</summary>
public static class LoopbackPorts
{
    /// <summary>A port free on both 127.0.0.1 and [::1] now (Kestrel binds localhost only to a fixed port).</summary>
    public static int FreeOnBoth()
    {
        while (true)
        {
            using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            v6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            int port = ((IPEndPoint)v6.LocalEndPoint!).Port;
            using var v4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                v4.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                // Taken on IPv4 only: pick another.
            }
        }
    }
}
