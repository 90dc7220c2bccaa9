// The EditMode tests build clips through the Editor assembly's internal API.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("AnimGen.Editor.Tests")]
