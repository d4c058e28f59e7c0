// The pod sandbox ("pause") image's one binary, for the one-node test cluster
// (never shipped): built locally so that no image is ever pulled.
module awsorg-operator/hack/tools/pause

go 1.26.0
