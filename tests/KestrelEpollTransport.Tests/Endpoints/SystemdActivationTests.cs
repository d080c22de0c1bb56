using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Endpoints;

/// <summary>
/// systemd socket activation, as systemd does it: the sample site starts with a listening socket already open as fd 3,
/// <c>LISTEN_FDS=1</c> and <c>LISTEN_PID</c> set to its own pid, and serves through it (SampleWeb calls Kestrel's
/// <c>UseSystemd()</c>, which turns those into <c>ListenHandle(3)</c>).
/// </summary>
public abstract class SystemdActivationTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task SystemdActivation_ListeningSocketInheritedAsFd3_SampleServesPageThroughIt()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        string socketInode = FileDescriptors.Target((int)listener.Handle)!;

        // The child inherits only fds without FD_CLOEXEC, and .NET opens every socket with it: a dup(2) without it is
        // open just for the Process.Start (another test starting a process meanwhile inherits it too, harmlessly).
        // The shell moves it to fd 3 and becomes the sample (exec keeps the pid, so LISTEN_PID=$$ is the sample's).
        int inheritable = FileDescriptors.Dup((int)listener.Handle);
        SampleWebProcess sample;
        try
        {
            string script = string.Create(CultureInfo.InvariantCulture,
                $"exec 3<&{inheritable} {inheritable}<&-; export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$0\" exec \"$1\" --transport {TransportArgument} --urls http://127.0.0.1:0");
            sample = SampleWebProcess.Start(new ProcessStartInfo("bash", ["-c", script, SampleWebProcess.DotnetHost, SampleWebProcess.SampleDll]), output);
        }
        finally
        {
            FileDescriptors.Close(inheritable);
        }

        using (sample)
        {
            try
            {
                // The socket already listens: the connection waits in its backlog until the sample accepts it.
                using var connection = await RawHttpConnection.ConnectAsync(endPoint);
                await connection.SendAsync(RawHttpConnection.Get("/"));
                var response = await FirstOrExit(connection.ReadResponseAsync(), sample);
                string? childFd3 = FileDescriptors.Target(3, sample.Process.Id.ToString(CultureInfo.InvariantCulture));

                TestApp.AssertMagePage(response);
                Assert.Equal(socketInode, childFd3);
                // UseSystemd replaced --urls (port 0): the one address the sample reports is the inherited socket's.
                Assert.Equal(endPoint, await sample.ListeningOn.Task.WithTimeout());
                Assert.Single(sample.Lines, l => l.Contains("Now listening on:", StringComparison.Ordinal));
                Assert.Contains(sample.Lines, l => l.Contains("Overriding address(es) 'http://127.0.0.1:0'", StringComparison.Ordinal));
            }
            finally
            {
                await sample.StopAsync();
            }
            Assert.Equal(0, sample.Process.ExitCode);
        }
    }

    private string TransportArgument => transport == TransportKind.Epoll ? "epoll" : "sockets";

    /// <summary><paramref name="task"/>'s result, or a failure with the sample's output if the sample exits first.</summary>
    private static async Task<T> FirstOrExit<T>(Task<T> task, SampleWebProcess sample)
    {
        var exited = sample.Process.WaitForExitAsync();
        if (await Task.WhenAny(task, exited).WithTimeout() == exited)
        {
            Assert.Fail($"The sample exited with {sample.Process.ExitCode}:\n{string.Join('\n', sample.Lines)}");
        }
        return await task;
    }
}

/// <summary><see cref="SystemdActivationTests"/> with the sample on the epoll transport.</summary>
public sealed class EpollSystemdActivationTests(ITestOutputHelper output) : SystemdActivationTests(TransportKind.Epoll, output);

/// <summary><see cref="SystemdActivationTests"/> with the sample on Kestrel's Sockets transport.</summary>
public sealed class SocketsSystemdActivationTests(ITestOutputHelper output) : SystemdActivationTests(TransportKind.Sockets, output);
