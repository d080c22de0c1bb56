using System.Net.Sockets;
using System.Text;
using TransportBench.StatsHook;

/// <summary>Loaded by the runtime before the app's Main (<c>DOTNET_STARTUP_HOOKS=…/TransportBench.StatsHook.dll</c>):
/// when <see cref="ServerCounters.SocketVariable"/> names a path, it listens there and answers each connection with one
/// <see cref="ServerCounters"/> line, read at that moment. In-process, because the allocation counter the runner
/// divides by requests is <c>GC.GetTotalAllocatedBytes(precise: true)</c>, which no out-of-process counter gives
/// exactly (docs/benchmarks.md, "Server counters").</summary>
/// <remarks>Threading: one background thread with blocking calls, so the server's socket engine (whose threads the
/// Sockets transport shares) is never started for it, and nothing runs between the runner's requests. The runtime finds
/// the hook by this type's name, which must be <c>StartupHook</c> in no namespace.</remarks>
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
