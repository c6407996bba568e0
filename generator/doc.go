// Package generator turns a user's choices into a plugin project on disk.
// The data flows one way, each step in its own file:
//
//   - flags -> Config (config.go): the command line fills a Config, whose
//     Validate says what is wrong with it before anything is rendered.
//   - Config -> FileSet (render.go): Render validates the Config and renders
//     the project in memory: the files of its template in package templates
//     (paths and NAME.tmpl files through text/template, other files as they
//     are), the +RUNTIME overlays of the front ends it asks for (a +A+B
//     overlay when it asks for either: code that two front ends share),
//     and the files derived from package types (the protocol package and
//     the test fixtures). Go files are formatted as
//     goimports would. The same Config always renders the same bytes.
//     Schemas renders the JSON Schemas of package types the same way.
//   - FileSet -> disk (write.go): Write puts a FileSet into a directory so
//     that a failure leaves nothing behind: everything is written into a
//     temporary directory beside it first, then renamed into place.
//
// Nothing before Write touches the disk, so a dry run is Render alone, and
// the golden tests compare Render's output with the trees under golden/.
package generator
