// Package provider serves a provider's schema over the Terraform plugin
// protocol (version 5) without talking to any cloud. It is enough for
// `tofu init`, `tofu validate`, `tofu plan` and `tofu test` with
// `command = plan`: it validates nothing beyond the schema, plans every
// computed attribute that the configuration leaves null as unknown, answers
// data sources with placeholder values, and refuses to apply.
package provider

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hiring-pipeline/hiring-pipeline/tools/tfstandin/schema"
)

// Server implements tfprotov5.ProviderServer for one provider schema.
type Server struct {
	source      string
	provider    *tfprotov5.Schema
	resources   map[string]*tfprotov5.Schema
	dataSources map[string]*tfprotov5.Schema
	// dataHooks check a data source's configuration the way the real
	// provider would while reading it, keyed by data source type.
	dataHooks map[string]func(tftypes.Value) []*tfprotov5.Diagnostic
}

var _ tfprotov5.ProviderServer = (*Server)(nil)

// New returns a server for the given schema.
func New(p *schema.Provider) *Server {
	s := &Server{
		source:      p.Source,
		provider:    p.Provider.Proto(),
		resources:   make(map[string]*tfprotov5.Schema, len(p.ResourceSchemas)),
		dataSources: make(map[string]*tfprotov5.Schema, len(p.DataSourceSchemas)),
		dataHooks: map[string]func(tftypes.Value) []*tfprotov5.Diagnostic{
			"archive_file": checkArchiveSources,
		},
	}
	for name, rs := range p.ResourceSchemas {
		s.resources[name] = rs.Proto()
	}
	for name, ds := range p.DataSourceSchemas {
		s.dataSources[name] = ds.Proto()
	}
	return s
}

func errorDiag(summary, detail string) []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{
		Severity: tfprotov5.DiagnosticSeverityError,
		Summary:  summary,
		Detail:   detail,
	}}
}

func (s *Server) planOnly(what string) []*tfprotov5.Diagnostic {
	return errorDiag(what+" is not supported",
		fmt.Sprintf("This %s is a plan-only stand-in built from the provider's schema; it cannot %s. Use the real provider.", s.source, what))
}

func unknownType(kind, name string) []*tfprotov5.Diagnostic {
	return errorDiag("Unknown "+kind, fmt.Sprintf("The stand-in provider has no %s named %q.", kind, name))
}

// GetMetadata lists the resource and data source types.
func (s *Server) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: s.capabilities()}
	for _, name := range sortedNames(s.resources) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: name})
	}
	for _, name := range sortedNames(s.dataSources) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: name})
	}
	return resp, nil
}

func (s *Server) capabilities() *tfprotov5.ServerCapabilities {
	return &tfprotov5.ServerCapabilities{PlanDestroy: true}
}

func sortedNames(m map[string]*tfprotov5.Schema) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GetProviderSchema returns the whole schema.
func (s *Server) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	return &tfprotov5.GetProviderSchemaResponse{
		ServerCapabilities: s.capabilities(),
		Provider:           s.provider,
		ResourceSchemas:    s.resources,
		DataSourceSchemas:  s.dataSources,
	}, nil
}

// GetResourceIdentitySchemas reports that no resource has an identity.
func (s *Server) GetResourceIdentitySchemas(context.Context, *tfprotov5.GetResourceIdentitySchemasRequest) (*tfprotov5.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov5.GetResourceIdentitySchemasResponse{IdentitySchemas: map[string]*tfprotov5.ResourceIdentitySchema{}}, nil
}

// PrepareProviderConfig accepts the provider configuration as it is.
func (s *Server) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

// ConfigureProvider accepts any configuration; nothing is contacted.
func (s *Server) ConfigureProvider(context.Context, *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

// StopProvider has nothing to stop.
func (s *Server) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

// ValidateResourceTypeConfig accepts any configuration that matches the
// schema; OpenTofu has checked that already.
func (s *Server) ValidateResourceTypeConfig(_ context.Context, req *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	if _, ok := s.resources[req.TypeName]; !ok {
		return &tfprotov5.ValidateResourceTypeConfigResponse{Diagnostics: unknownType("resource type", req.TypeName)}, nil
	}
	return &tfprotov5.ValidateResourceTypeConfigResponse{}, nil
}

// ValidateDataSourceConfig accepts any configuration that matches the
// schema.
func (s *Server) ValidateDataSourceConfig(_ context.Context, req *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	if _, ok := s.dataSources[req.TypeName]; !ok {
		return &tfprotov5.ValidateDataSourceConfigResponse{Diagnostics: unknownType("data source", req.TypeName)}, nil
	}
	return &tfprotov5.ValidateDataSourceConfigResponse{}, nil
}

// UpgradeResourceState decodes stored state with the current schema,
// dropping attributes the schema no longer has.
func (s *Server) UpgradeResourceState(_ context.Context, req *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	rs, ok := s.resources[req.TypeName]
	if !ok {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: unknownType("resource type", req.TypeName)}, nil
	}
	typ := rs.ValueType()
	v, err := req.RawState.UnmarshalWithOpts(typ, tfprotov5.UnmarshalOpts{
		ValueFromJSONOpts: tftypes.ValueFromJSONOpts{IgnoreUndefinedAttributes: true},
	})
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errorDiag("Cannot read stored state", err.Error())}, nil
	}
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.UpgradeResourceStateResponse{UpgradedState: &dv}, nil
}

// ReadResource returns the stored state unchanged.
func (s *Server) ReadResource(_ context.Context, req *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

// PlanResourceChange plans the proposed new state. On create, every
// computed attribute left null by the configuration becomes unknown, as the
// real provider would only learn it on apply.
func (s *Server) PlanResourceChange(_ context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	rs, ok := s.resources[req.TypeName]
	if !ok {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: unknownType("resource type", req.TypeName)}, nil
	}
	typ := rs.ValueType()
	proposed, err := req.ProposedNewState.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	prior, err := req.PriorState.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	planned := proposed
	if prior.IsNull() && !proposed.IsNull() {
		planned, err = fillComputed(rs.Block, proposed, unknown)
		if err != nil {
			return nil, err
		}
	}
	dv, err := tfprotov5.NewDynamicValue(typ, planned)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.PlanResourceChangeResponse{PlannedState: &dv, PlannedPrivate: req.PriorPrivate}, nil
}

// ApplyResourceChange refuses: the stand-in only plans.
func (s *Server) ApplyResourceChange(context.Context, *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: s.planOnly("apply")}, nil
}

// ImportResourceState refuses: there is nothing to import from.
func (s *Server) ImportResourceState(context.Context, *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{Diagnostics: s.planOnly("import")}, nil
}

// MoveResourceState refuses: no resource supports moves.
func (s *Server) MoveResourceState(context.Context, *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{Diagnostics: s.planOnly("move resource state")}, nil
}

// UpgradeResourceIdentity refuses: no resource has an identity.
func (s *Server) UpgradeResourceIdentity(context.Context, *tfprotov5.UpgradeResourceIdentityRequest) (*tfprotov5.UpgradeResourceIdentityResponse, error) {
	return &tfprotov5.UpgradeResourceIdentityResponse{Diagnostics: s.planOnly("upgrade resource identity")}, nil
}

// GenerateResourceConfig refuses: it needs imported state.
func (s *Server) GenerateResourceConfig(context.Context, *tfprotov5.GenerateResourceConfigRequest) (*tfprotov5.GenerateResourceConfigResponse, error) {
	return &tfprotov5.GenerateResourceConfigResponse{Diagnostics: s.planOnly("generate configuration")}, nil
}

// ReadDataSource returns the configuration with every computed attribute
// that it leaves null set to a placeholder, so that expressions using the
// data source can be planned.
func (s *Server) ReadDataSource(_ context.Context, req *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	ds, ok := s.dataSources[req.TypeName]
	if !ok {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: unknownType("data source", req.TypeName)}, nil
	}
	typ := ds.ValueType()
	config, err := req.Config.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	if hook, ok := s.dataHooks[req.TypeName]; ok {
		if diags := hook(config); len(diags) > 0 {
			return &tfprotov5.ReadDataSourceResponse{Diagnostics: diags}, nil
		}
	}
	state, err := fillComputed(ds.Block, config, placeholder)
	if err != nil {
		return nil, err
	}
	dv, err := tfprotov5.NewDynamicValue(typ, state)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.ReadDataSourceResponse{State: &dv}, nil
}

// GetFunctions reports no provider-defined functions.
func (s *Server) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

// CallFunction refuses: there are no functions.
func (s *Server) CallFunction(_ context.Context, req *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{
		Text: fmt.Sprintf("the stand-in provider has no function %q", req.Name),
	}}, nil
}

// ValidateEphemeralResourceConfig refuses: there are no ephemeral resources.
func (s *Server) ValidateEphemeralResourceConfig(_ context.Context, req *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{Diagnostics: unknownType("ephemeral resource", req.TypeName)}, nil
}

// OpenEphemeralResource refuses: there are no ephemeral resources.
func (s *Server) OpenEphemeralResource(_ context.Context, req *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: unknownType("ephemeral resource", req.TypeName)}, nil
}

// RenewEphemeralResource refuses: there are no ephemeral resources.
func (s *Server) RenewEphemeralResource(_ context.Context, req *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{Diagnostics: unknownType("ephemeral resource", req.TypeName)}, nil
}

// CloseEphemeralResource refuses: there are no ephemeral resources.
func (s *Server) CloseEphemeralResource(_ context.Context, req *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{Diagnostics: unknownType("ephemeral resource", req.TypeName)}, nil
}
