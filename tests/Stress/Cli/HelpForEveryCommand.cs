using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Stress.Cli;

/// <summary>
/// <c>Stress --help</c> prints every command's options with their defaults after the list of commands, rather than
/// the list alone: two commands and fourteen options read better on one page. <c>Stress serve --help</c> and
/// <c>Stress run --help</c> print their own, as usual.
/// </summary>
internal sealed class HelpForEveryCommand(HelpAction help) : SynchronousCommandLineAction
{
    /// <summary>Like the help it wraps: <c>--help</c> wins over other errors on the line.</summary>
    public override bool ClearsParseErrors => true;

    /// <summary>Puts this in place of <paramref name="root"/>'s help option's action.</summary>
    public static void Install(RootCommand root)
    {
        var option = root.Options.OfType<HelpOption>().Single();
        option.Action = new HelpForEveryCommand((HelpAction)option.Action!);
    }

    public override int Invoke(ParseResult parseResult)
    {
        help.Invoke(parseResult);
        if (parseResult.CommandResult.Command is RootCommand root)
        {
            foreach (var command in root.Subcommands)
            {
                help.Invoke(root.Parse([command.Name, "--help"]));
            }
        }
        return 0;
    }
}
