namespace TransportBench.Servers;

/// <summary>The runner's load helper (benchmarks/LoadHelper, beside the runner's DLL) in a child process pinned to
/// <c>cpus</c>: the floor on the server CPUs, kept for a round as a server is; the fairness clients on the load CPUs,
/// one process per load run as wrk is. Each <see cref="RunAsync"/> sends one job and reads its reply (<see
/// cref="HelperProtocol"/>). Disposing ends the helper.</summary>
internal sealed class LoadHelperProcess : ChildProcess
{
    /// <param name="cpus">taskset list, or null for no pinning.</param>
    /// <param name="environment">Variables set (value) or removed (null), as for a server.</param>
    public LoadHelperProcess(string? cpus, IReadOnlyDictionary<string, string?>? environment)
        : base(cpus, [Path.Combine(AppContext.BaseDirectory, "TransportBench.LoadHelper.dll")], environment, null, keepLines: 20)
    {
        // Its standard error, for error messages; its standard output carries the replies.
        Process.ErrorDataReceived += (_, e) => Remember(e.Data);
        Process.BeginErrorReadLine();
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
            await Process.StandardInput.WriteLineAsync(HelperProtocol.Write(job));
            await Process.StandardInput.FlushAsync(cancellationToken);
            while (reply is null && await Process.StandardOutput.ReadLineAsync(bound.Token) is string line)
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
            ChildProcesses.Kill(Process);
            throw new InvalidOperationException($"the load helper {how}:\n{OutputTail()}");
        }
        return reply;
    }
}
