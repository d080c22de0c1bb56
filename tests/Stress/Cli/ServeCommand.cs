using System.CommandLine;
using Stress.Server;

namespace Stress.Cli;

/// <summary><c>Stress serve</c>: the stress server alone, until SIGTERM or Ctrl+C (<see cref="StressServer.ServeAsync"/>).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var port = StressOptions.Int("--port", 0, "Port on 127.0.0.1; 0 picks a free one (printed at start).");
        var transport = StressOptions.Transport("The server's transport.");
        var threads = StressOptions.Int("--threads", 0, "Epoll loops; 0 keeps the transport's default.");
        var shutdownTimeout = StressOptions.Seconds("--shutdown-timeout", 10, "Seconds a graceful stop (SIGTERM) waits for requests in flight.");
        var maxOpenFiles = StressOptions.Int("--max-open-files", 0,
            "When above 0, RLIMIT_NOFILE (soft and hard) is lowered to it at start, as prlimit --nofile=N:N.");
        var startTimerThread = StressOptions.Int("--start-timer-thread", 1,
            "1 starts the runtime's timer thread at start-up, as nearly every app does early; 0 leaves it to its first user " +
            "(the fd-exhaustion tests: starting a thread takes an fd).");
        startTimerThread.AcceptOnlyFromAmong("0", "1");
        var host = new Option<string>("--host")
        {
            Description = "127.0.0.1 (one listener) or localhost (127.0.0.1 and [::1], two listeners; needs --port other than 0).",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        host.AcceptOnlyFromAmong("127.0.0.1", "localhost");
        var fdCanary = StressOptions.Int("--fd-canary", 0,
            "1 runs a thread that does pipe2+close every ~50 µs and counts EMFILE/ENFILE (in /stats): each failure is a " +
            "moment the runtime could not have started a thread (the fd-exhaustion tests).");
        fdCanary.AcceptOnlyFromAmong("0", "1");

        var command = new Command("serve", "Runs the stress server alone until SIGTERM or Ctrl+C; prints where it listens. Exit code 0 after a graceful stop.")
        {
            port, transport, threads, shutdownTimeout, maxOpenFiles, startTimerThread, host, fdCanary,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(host) == "localhost" && result.GetValue(port) == 0)
            {
                result.AddError("--host localhost needs --port: Kestrel binds localhost to a fixed port only.");
            }
        });
        command.SetAction(result => StressServer.ServeAsync(new ServeOptions
        {
            Port = result.GetValue(port),
            Transport = result.GetRequiredValue(transport),
            Threads = result.GetValue(threads),
            ShutdownTimeout = TimeSpan.FromSeconds(result.GetValue(shutdownTimeout)),
            MaxOpenFiles = result.GetValue(maxOpenFiles),
            StartTimerThread = result.GetValue(startTimerThread) != 0,
            Host = result.GetRequiredValue(host),
            FdCanary = result.GetValue(fdCanary) != 0,
        }));
        return command;
    }
}
