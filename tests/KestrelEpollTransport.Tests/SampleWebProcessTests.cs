using KestrelEpollTransport.Tests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests;

/// <summary>
/// The sample site as a user runs it, in a process of its own: it serves the magedu page, and its threads show
/// which transport serves it. A child process, because this test process runs the Sockets transport (and the
/// runtime's socket engine for every client) too, so only a fresh process can show that the epoll one has no
/// ".NET Sockets" thread.
/// </summary>
public sealed class SampleWebProcessTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(TransportKind.Epoll)]
    [InlineData(TransportKind.Sockets)]
    public async Task SampleWeb_ServesMagePage_OnlyTheChosenTransportsThreadsExist(TransportKind transport)
    {
        using var sample = StartSample(transport == TransportKind.Epoll ? "epoll" : "sockets", "--Kestrel:EpollTransport:ThreadCount=2");
        try
        {
            var threads = await sample.AssertServesMagePageAsync();

            output.WriteLine($"{transport}: threads {string.Join(", ", threads.Order(StringComparer.Ordinal))}");
            var loops = threads.Where(ProcessResources.IsEpollLoop).Order(StringComparer.Ordinal).ToList();
            if (transport == TransportKind.Epoll)
            {
                Assert.Equal(["epoll-loop-0", "epoll-loop-1"], loops);
                Assert.DoesNotContain(".NET Sockets", threads);
            }
            else
            {
                Assert.Empty(loops);
                Assert.Contains(".NET Sockets", threads);
            }
        }
        finally
        {
            await sample.StopAsync();
        }
        Assert.Equal(0, sample.Process.ExitCode);
    }

    [Fact]
    public async Task SampleWeb_PlaintextAndJson_TechEmpowerShapes()
    {
        using var sample = StartSample("epoll");
        try
        {
            var endPoint = await sample.ListeningOn.Task.WithTimeout();
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            await connection.SendAsync(RawHttpConnection.Get("/plaintext") + RawHttpConnection.Get("/json"));
            var plaintext = await connection.ReadResponseAsync();
            var json = await connection.ReadResponseAsync();

            Assert.Equal("text/plain", plaintext.Header("Content-Type"));
            Assert.Equal("Hello, World!", plaintext.BodyText);
            Assert.Equal("application/json", json.Header("Content-Type"));
            Assert.Equal("""{"message":"Hello, World!"}""", json.BodyText);
        }
        finally
        {
            await sample.StopAsync();
        }
    }

    private SampleWebProcess StartSample(string transport, params string[] extraArgs) =>
        SampleWebProcess.StartDll(output, ["--urls", "http://127.0.0.1:0", "--transport", transport, .. extraArgs]);
}
