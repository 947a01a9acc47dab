enum CRMDomainPlaceholder {}
