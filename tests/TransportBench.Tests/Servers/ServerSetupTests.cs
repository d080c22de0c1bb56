using TransportBench.Servers;

namespace TransportBench.Tests.Servers;

/// <summary>
/// One launch serves every scenario of a round: the control endpoint, HTTPS and h2c, the shapes; only fairness adds
/// its one event loop.
/// </summary>
public sealed class ServerSetupTests
{
    private static readonly BenchCertificate Certificate = new("/tmp/bench.pfx", "secret");

    [Fact]
    public void Create_AnyScenario_EveryEndpointAndTheShapes()
    {
        ServerSetup setup = ServerSetup.Create(Certificate, oneLoop: false);

        Assert.Equal(3, new[] { setup.ControlUrl, setup.TlsUrl, setup.H2cUrl }.Distinct().Count());
        Assert.Contains("--Kestrel:Endpoints:Control:Url=" + setup.ControlUrl, setup.Arguments);
        Assert.Contains("--Kestrel:Endpoints:Tls:Certificate:Path=/tmp/bench.pfx", setup.Arguments);
        Assert.Contains("--Kestrel:Endpoints:H2c:Protocols=Http2", setup.Arguments);
        Assert.Contains("--SampleWeb:Shapes=true", setup.Arguments);
        Assert.DoesNotContain(setup.Arguments, a => a.Contains("ThreadCount", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadUrl_EachProtocol_ItsEndpoint()
    {
        ServerSetup setup = ServerSetup.Create(Certificate, oneLoop: false);

        Assert.Equal(setup.ControlUrl, setup.LoadUrl(Scenario.Page));
        Assert.StartsWith("https://127.0.0.1:", setup.LoadUrl(Scenario.Tls), StringComparison.Ordinal);
        Assert.Equal(setup.TlsUrl, setup.LoadUrl(Scenario.TlsChurn));
        Assert.Equal(setup.H2cUrl, setup.LoadUrl(Scenario.H2));
    }

    /// <summary>Last, so that it wins over a --threads value given earlier on the command line.</summary>
    [Fact]
    public void Create_OneLoop_ThreadCountOneLast()
    {
        Assert.Equal("--Kestrel:EpollTransport:ThreadCount=1", ServerSetup.Create(Certificate, oneLoop: true).Arguments[^1]);
    }
}
