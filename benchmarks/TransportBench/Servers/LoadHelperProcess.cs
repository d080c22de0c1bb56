using System.Diagnostics;
using TransportBench.LoadHelper;

namespace TransportBench.Servers;

/// <summary>
/// The runner's load helper (benchmarks/LoadHelper, beside the runner's DLL) in a child process pinned to
/// <c>cpus</c>: the floor on the server CPUs, kept for a round as a server is; the fairness clients on the load CPUs,
/// one process per load run as wrk is. Each <see cref="RunAsync"/> sends one job and reads its reply
/// (<see cref="HelperProtocol"/>). Disposing ends the helper.
/// </summary>
internal sealed class LoadHelperProcess : IDisposable
{
    private readonly Process _process;

    // Its standard error, for error messages.
    private readonly LastLines _errors = new(20);

    private LoadHelperProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => _errors.Add(e.Data);
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    /// <param name="cpus">taskset list, or null for no pinning.</param>
    /// <param name="environment">Variables set (value) or removed (null), as for a server.</param>
    public static LoadHelperProcess Start(string? cpus, IReadOnlyDictionary<string, string?>? environment)
    {
        string helper = Path.Combine(AppContext.BaseDirectory, "TransportBench.LoadHelper.dll");
        (string file, List<string> args) = Cli.CoreLayout.Pin(cpus, DotnetHost.Path, [helper]);
        ProcessStartInfo startInfo = ChildProcesses.StartInfo(file, args, environment);
        startInfo.RedirectStandardInput = true;
        return new LoadHelperProcess(ChildProcesses.Start(startInfo));
    }

    /// <summary>Sends <paramref name="job"/> and waits, at most <paramref name="limit"/>, for its reply.</summary>
    /// <exception cref="InvalidOperationException">The helper failed, ended or took too long (it is then killed, so the
    /// next job starts a new one); the message holds its output.</exception>
    public async Task<HelperReply> RunAsync(HelperJob job, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(limit);
        HelperReply? reply = null;
        try
        {
            await _process.StandardInput.WriteLineAsync(HelperProtocol.Write(job));
            await _process.StandardInput.FlushAsync(cancellationToken);
            while (reply is null && await _process.StandardOutput.ReadLineAsync(bound.Token) is string line)
            {
                reply = line.StartsWith(HelperProtocol.Prefix, StringComparison.Ordinal)
                    ? HelperProtocol.Read<HelperReply>(line[HelperProtocol.Prefix.Length..])
                    : null;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Past its bound: a failure, reported below.
        }
        catch (IOException)
        {
            // Its input closed: it ended since the last job. Reported below.
        }
        if (reply is null || reply.Error is not null)
        {
            string how = reply?.Error ?? (HasExited ? "ended" : "did not answer in time");
            ChildProcesses.Kill(_process);
            throw new InvalidOperationException($"the load helper {how}:\n{_errors}");
        }
        return reply;
    }

    public void Dispose()
    {
        ChildProcesses.Kill(_process);
        _process.Dispose();
    }
}
