using Spectre.Console;

namespace TransportBench.Running;

/// <summary>
/// The console the runner writes to (Spectre.Console). On a terminal: colours, a bordered table, a live progress bar.
/// Anywhere else (CI, a pipe, a file): plain lines, no ANSI escape, nothing rewritten in place, and no wrapping: the
/// summary table keeps one line per row however wide it is, as a log or grep wants it.
/// </summary>
internal static class Terminal
{
    /// <summary>Width given to a console that is not a terminal: wider than any row of the summary table.</summary>
    private const int PlainWidth = 1_000;

    /// <summary>The process's standard output: a terminal unless it is redirected.</summary>
    public static IAnsiConsole Create() => Create(Console.Out, isTerminal: !Console.IsOutputRedirected);

    /// <summary>
    /// A console on <paramref name="output"/>. Spectre's own detection would do on stdout; the settings are explicit so
    /// that a console on a file or a string (the tests) is plain whatever the environment says (TERM, CI variables).
    /// </summary>
    public static IAnsiConsole Create(TextWriter output, bool isTerminal)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!isTerminal)
        {
            console.Profile.Width = PlainWidth;
        }
        return console;
    }

    /// <summary>Whether the live display can rewrite lines in place (a terminal that takes ANSI escapes).</summary>
    public static bool IsLive(this IAnsiConsole console) =>
        console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi;
}
