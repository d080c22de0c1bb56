using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>
/// The sample site (src/SampleWeb) in a child process, as a user runs it: from the SampleWeb.dll built next to the
/// tests, from a NativeAOT binary, or through a shell that prepares what it inherits (systemd socket activation).
/// Its output goes to the test's output; the first "Now listening on" address is <see cref="ListeningOn"/>.
/// Dispose kills it if a test has not stopped it.
/// </summary>
public sealed partial class SampleWebProcess : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly ConcurrentQueue<string> _lines = new();

    private SampleWebProcess(Process process, ITestOutputHelper output)
    {
        Process = process;
        _output = output;
    }

    /// <summary>The SampleWeb.dll copied next to the tests by the project reference.</summary>
    public static string SampleDll => Path.Combine(AppContext.BaseDirectory, "SampleWeb.dll");

    /// <summary>The dotnet host running this test (so the sample runs on the same runtime), else dotnet from PATH.</summary>
    public static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>The child process.</summary>
    public Process Process { get; }

    /// <summary>The first TCP address the sample reported listening on; fails if it exits before.</summary>
    public TaskCompletionSource<IPEndPoint> ListeningOn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every line it printed so far (stderr lines start with "stderr: ").</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>Runs <c>dotnet exec SampleWeb.dll</c> with <paramref name="arguments"/>.</summary>
    public static SampleWebProcess StartDll(ITestOutputHelper output, params string[] arguments) =>
        Start(new ProcessStartInfo(DotnetHost, ["exec", SampleDll, .. arguments]), output);

    /// <summary>Runs <paramref name="start"/> (its output is redirected here), a sample or a shell that execs one.</summary>
    public static SampleWebProcess Start(ProcessStartInfo start, ITestOutputHelper output)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        var sample = new SampleWebProcess(process, output);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            sample.Log(e.Data);
            var match = ListeningLine().Match(e.Data);
            if (match.Success)
            {
                sample.ListeningOn.TrySetResult(new IPEndPoint(IPAddress.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                sample.Log("stderr: " + e.Data);
            }
        };
        process.Exited += (_, _) => sample.ListeningOn.TrySetException(new InvalidOperationException($"The sample exited with {process.ExitCode} before listening."));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sample;
    }

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

    private void Log(string line)
    {
        _lines.Enqueue(line);
        try
        {
            _output.WriteLine("sample: " + line);
        }
        catch (InvalidOperationException)
        {
            // The test has ended; the sample's last lines have nowhere to go.
        }
    }

    [GeneratedRegex(@"Now listening on: http://(\d+\.\d+\.\d+\.\d+):(\d+)")]
    private static partial Regex ListeningLine();
}
