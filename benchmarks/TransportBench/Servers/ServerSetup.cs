using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TransportBench.Servers;

/// <summary>How the runner launches SampleWeb, the same for every server and scenario so that one process can serve a
/// whole round (docs/benchmarks.md, "The servers"); only the fairness scenario asks for more, one event loop.</summary>
internal sealed record ServerSetup(int ControlPort, string TlsUrl, string H2cUrl, IReadOnlyList<string> Arguments)
{
    public string ControlUrl => Url("http", ControlPort);
    /// <summary>Where a scenario's load goes.</summary>
    public string LoadUrl(Scenario scenario) => scenario.Protocol switch
    {
        WireProtocol.Https => TlsUrl,
        WireProtocol.H2c => H2cUrl,
        _ => ControlUrl,
    };

    /// <param name="oneLoop">The fairness scenario's one event loop (<c>ThreadCount=1</c>).</param>
    public static ServerSetup Create(BenchCertificate certificate, bool oneLoop)
    {
        int[] ports = FreePorts(3);
        string tls = Url("https", ports[1]);
        string h2c = Url("http", ports[2]);
        var arguments = new List<string>
        {
            "--Kestrel:Endpoints:Control:Url=" + Url("http", ports[0]),
            "--Kestrel:Endpoints:Tls:Url=" + tls,
            // HTTP/1.1 only: ALPN then offers nothing else, as wrk expects.
            "--Kestrel:Endpoints:Tls:Protocols=Http1",
            "--Kestrel:Endpoints:Tls:Certificate:Path=" + certificate.Path,
            "--Kestrel:Endpoints:Tls:Certificate:Password=" + certificate.Password,
            "--Kestrel:Endpoints:H2c:Url=" + h2c,
            // HTTP/2 only on cleartext: prior knowledge, what h2load speaks to an http:// URL.
            "--Kestrel:Endpoints:H2c:Protocols=Http2",
            "--SampleWeb:Shapes=true",
        };
        if (oneLoop)
        {
            // Both connections on one loop, whatever the CPU count. Read only by the epoll transport; Sockets sizes
            // its I/O threads by ProcessorCount, 1 here (docs/benchmarks.md, "Fairness").
            arguments.Add("--Kestrel:EpollTransport:ThreadCount=1");
        }
        return new ServerSetup(ports[0], tls, h2c, arguments);
    }

    private static string Url(string scheme, int port) => string.Create(CultureInfo.InvariantCulture, $"{scheme}://127.0.0.1:{port}");
    /// <summary>Distinct free loopback ports: bind port 0 for each (all held at once), read them, release them.</summary>
    private static int[] FreePorts(int count)
    {
        Socket[] listeners = [.. Enumerable.Range(0, count).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))];
        try
        {
            Array.ForEach(listeners, l => l.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndPoint!).Port)];
        }
        finally
        {
            Array.ForEach(listeners, l => l.Dispose());
        }
    }
}

/// <summary>The TLS scenarios' server certificate (docs/benchmarks.md, "TLS"), a fresh .pfx with a random password per run.</summary>
internal sealed record BenchCertificate(string Path, string Password)
{
    /// <summary>Creates it in artifacts/bench/tls of the repository (git-ignored), or a temporary folder.</summary>
    public static BenchCertificate Create()
    {
        string root = DotnetHost.RepositoryRoot() is { } repository
            ? System.IO.Path.Combine(repository, "artifacts", "bench", "tls")
            : System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"transportbench-tls-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        string path = System.IO.Path.Combine(root, "bench-127.0.0.1.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return new BenchCertificate(path, password);
    }
}
