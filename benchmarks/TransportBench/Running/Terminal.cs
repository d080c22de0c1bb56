using Spectre.Console;

namespace TransportBench.Running;

/// <summary>
/// The console the runner writes to (Spectre.Console). On a terminal: bold headers and a live progress bar. Anywhere
/// else (CI, a pipe, a file): plain lines, no ANSI escape, nothing redrawn, and no wrapping, so the tables keep one
/// line per row however wide, as a log or grep wants them.
/// </summary>
internal static class Terminal
{
    public static IAnsiConsole Create() => Create(Console.Out, isTerminal: !Console.IsOutputRedirected);

    /// <summary>Explicit settings, so that a console on a file or a string is plain whatever TERM or CI variables say.</summary>
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
            // Wider than any row of the tables: Spectre would wrap them at 80 columns.
            console.Profile.Width = 1_000;
        }
        return console;
    }

    /// <summary>Whether lines can be redrawn in place: a terminal that takes ANSI escapes.</summary>
    public static bool IsLive(this IAnsiConsole console) => console.Profile.Capabilities is { Interactive: true, Ansi: true };
}
