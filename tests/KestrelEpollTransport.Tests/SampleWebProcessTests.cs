using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using KestrelEpollTransport.Tests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests;

/// <summary>
/// The sample site as a user runs it, in a process of its own: it serves the magedu page, and its threads show
/// which transport serves it. A child process, because this test process runs the Sockets transport (and the
/// runtime's socket engine for every client) too, so only a fresh process can show that the epoll one has no
/// ".NET Sockets" thread.
/// </summary>
public sealed partial class SampleWebProcessTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(TransportKind.Epoll)]
    [InlineData(TransportKind.Sockets)]
    public async Task SampleWeb_ServesMagePage_OnlyTheChosenTransportsThreadsExist(TransportKind transport)
    {
        using var sample = StartSample(transport == TransportKind.Epoll ? "epoll" : "sockets", "--Kestrel:EpollTransport:ThreadCount=2");
        try
        {
            var endPoint = await sample.ListeningOn.Task.WithTimeout();
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            await connection.SendAsync(RawHttpConnection.Get("/"));
            var response = await connection.ReadResponseAsync();
            var threads = ProcessResources.ThreadNames(sample.Process.Id);

            output.WriteLine($"{transport}: threads {string.Join(", ", threads.Order(StringComparer.Ordinal))}");
            Assert.Equal(200, response.StatusCode);
            Assert.Equal(TestApp.MagePageContentType, response.Header("Content-Type"));
            Assert.Equal(TestApp.MagePage, response.Body);
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

    private SampleProcess StartSample(string transport, params string[] extraArgs)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "SampleWeb.dll");
        var start = new ProcessStartInfo(DotnetHost(), ["exec", dll, "--urls", "http://127.0.0.1:0", "--transport", transport, .. extraArgs])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var sample = new SampleProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            Log(e.Data);
            var match = ListeningLine().Match(e.Data);
            if (match.Success)
            {
                sample.ListeningOn.TrySetResult(new IPEndPoint(IPAddress.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Log("stderr: " + e.Data);
            }
        };
        process.Exited += (_, _) => sample.ListeningOn.TrySetException(new InvalidOperationException($"The sample exited with {process.ExitCode} before listening."));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sample;
    }

    private void Log(string line)
    {
        try
        {
            output.WriteLine("sample: " + line);
        }
        catch (InvalidOperationException)
        {
            // The test has ended; the sample's last lines have nowhere to go.
        }
    }

    /// <summary>The dotnet host running this test (so the sample runs on the same runtime), else dotnet from PATH.</summary>
    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    [GeneratedRegex(@"Now listening on: http://(\d+\.\d+\.\d+\.\d+):(\d+)")]
    private static partial Regex ListeningLine();

    private sealed class SampleProcess(System.Diagnostics.Process process) : IDisposable
    {
        public System.Diagnostics.Process Process { get; } = process;

        public TaskCompletionSource<IPEndPoint> ListeningOn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Stops the sample as a service manager would (SIGTERM), and waits for it to exit.</summary>
        public async Task StopAsync()
        {
            if (Process.HasExited)
            {
                return;
            }
            PosixSignal.Send(Process.Id, PosixSignal.SIGTERM);
            try
            {
                await Process.WaitForExitAsync().WithTimeout();
            }
            catch (TimeoutException)
            {
                Process.Kill(entireProcessTree: true);
                throw;
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }
            Process.Dispose();
        }
    }
}
