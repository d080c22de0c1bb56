using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TransportBench.Servers;

/// <summary>
/// What one scenario asks of a server's start, the same for every server: its endpoints, the shape endpoints, one
/// event loop for the fairness scenario. The control endpoint (HTTP/1.1) serves the runner's /bench/stats and every
/// HTTP/1.1 scenario; TLS and h2c scenarios add a load endpoint of their own (both declared in Kestrel's
/// configuration, which then ignores --urls).
/// </summary>
/// <param name="ControlPort">The HTTP/1.1 port.</param>
/// <param name="LoadUrl">Where the load goes, e.g. https://127.0.0.1:40124.</param>
/// <param name="Arguments">SampleWeb arguments.</param>
internal sealed record ServerSetup(int ControlPort, string LoadUrl, IReadOnlyList<string> Arguments)
{
    public static ServerSetup For(Scenario scenario, BenchCertificate? certificate)
    {
        int[] ports = FreePorts(scenario.Protocol == WireProtocol.Http11 ? 1 : 2);
        string control = Url("http", ports[0]);
        var arguments = new List<string>();
        string loadUrl = control;
        switch (scenario.Protocol)
        {
            case WireProtocol.Http11:
                arguments.AddRange(["--urls", control]);
                break;
            case WireProtocol.Https:
                if (certificate is null)
                {
                    throw new InvalidOperationException($"{scenario.Name} needs the runner's TLS certificate.");
                }
                loadUrl = Url("https", ports[1]);
                arguments.AddRange(
                [
                    "--Kestrel:Endpoints:Control:Url=" + control,
                    "--Kestrel:Endpoints:Tls:Url=" + loadUrl,
                    // HTTP/1.1 only: ALPN then offers nothing else, as wrk expects.
                    "--Kestrel:Endpoints:Tls:Protocols=Http1",
                    "--Kestrel:Endpoints:Tls:Certificate:Path=" + certificate.Path,
                    "--Kestrel:Endpoints:Tls:Certificate:Password=" + certificate.Password,
                ]);
                break;
            case WireProtocol.H2c:
                loadUrl = Url("http", ports[1]);
                arguments.AddRange(
                [
                    "--Kestrel:Endpoints:Control:Url=" + control,
                    "--Kestrel:Endpoints:H2c:Url=" + loadUrl,
                    // HTTP/2 only on cleartext: prior knowledge, what h2load speaks to an http:// URL.
                    "--Kestrel:Endpoints:H2c:Protocols=Http2",
                ]);
                break;
        }
        if (scenario.NeedsShapes)
        {
            arguments.Add("--SampleWeb:Shapes=true");
        }
        if (scenario.Kind == ScenarioKind.Fairness)
        {
            // Both connections on one loop, whatever the CPU count: the question is what one loop does with a
            // connection that always has data. Read only by the epoll transport; Sockets sizes its I/O threads and
            // queues by ProcessorCount, which is 1 here: the runner pins every server to one CPU for this scenario.
            arguments.Add("--Kestrel:EpollTransport:ThreadCount=1");
        }
        return new ServerSetup(ports[0], loadUrl, arguments);
    }

    private static string Url(string scheme, int port) => string.Create(CultureInfo.InvariantCulture, $"{scheme}://127.0.0.1:{port}");

    /// <summary>Distinct free loopback ports: bind port 0 for each (all held at once), read them, release them.</summary>
    private static int[] FreePorts(int count)
    {
        var listeners = new List<Socket>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(listener);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndPoint!).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Dispose());
        }
    }
}
