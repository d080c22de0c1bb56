using System.Net.Sockets;
using System.Text;
using TransportBench.StatsHook;

/// <summary>Run by the runtime before the app's Main: when <see cref="ServerCounters.SocketVariable"/> names a path, it
/// answers each connection there with one <see cref="ServerCounters"/> line (docs/benchmarks.md, "Server counters").</summary>
/// <remarks>Threading: one background thread with blocking calls, so the server's socket engine (whose threads the
/// Sockets transport shares) is never started for it.</remarks>
#pragma warning disable CA1050 // The runtime looks the hook up as "StartupHook" without a namespace.
internal static class StartupHook
#pragma warning restore CA1050
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable(ServerCounters.SocketVariable) is not { Length: > 0 } path)
        {
            return;
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        new Thread(() => Serve(listener)) { IsBackground = true, Name = "TransportBench counters" }.Start();
    }

    private static void Serve(Socket listener)
    {
        while (true)
        {
            using Socket client = listener.Accept();
            try
            {
                client.Send(Encoding.ASCII.GetBytes(ServerCounters.Read().ToLine()));
            }
            catch (SocketException)
            {
                // The runner gave up on this request (its own timeout): it asks again with a new connection.
            }
        }
    }
}
